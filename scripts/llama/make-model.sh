#!/usr/bin/env bash
# Write the deterministic tiny test model (always answers
# "Hello from the tiny local model.") to OUT (default <repo>/var/models/tiny.gguf).
# Builds llama-server/make_tiny_gguf first via build.sh when needed.
# Idempotent: skips when OUT exists and is newer than the generator binary.
#
# Usage: scripts/llama/make-model.sh [OUT]
#   The last stdout line is the model path.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/../.." && pwd)"
OUT="${1:-$REPO_ROOT/var/models/tiny.gguf}"

die() { printf '[llama/make-model] ERROR: %s\n' "$*" >&2; exit 1; }

SERVER="$("$SCRIPT_DIR/build.sh" | tail -n 1)" || die "build.sh failed"
TINY="$(dirname "$SERVER")/make_tiny_gguf"
[[ -x "$TINY" ]] || die "generator not found at $TINY"

if [[ -s "$OUT" && "$OUT" -nt "$TINY" ]]; then
    printf '[llama/make-model] up to date: %s\n' "$OUT" >&2
else
    mkdir -p "$(dirname "$OUT")" || die "cannot create $(dirname "$OUT")"
    "$TINY" --mode fixed --out "$OUT" >&2 || die "make_tiny_gguf failed"
fi
echo "$OUT"
