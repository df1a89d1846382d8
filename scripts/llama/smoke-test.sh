#!/usr/bin/env bash
# End-to-end check of the pinned llama-server with the tiny fixed model:
# starts llama-server on a free loopback port, waits for /health, and checks
# /v1/chat/completions (stream and non-stream, temperature 0 and 1,
# max_tokens truncation, usage reporting).
#
# Usage: scripts/llama/smoke-test.sh [MODEL]     (default: var/models/tiny.gguf)
# Environment:
#   BATON_LLAMA_SERVER   llama-server binary (default: the pinned build)
#   SMOKE_EXTRA_ARGS     extra llama-server flags, e.g. "--no-jinja"
#   SMOKE_VERBOSE=1      print every reply
# Requires: curl, jq.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
EXPECTED="Hello from the tiny local model."

die() { printf '[llama/smoke] ERROR: %s\n' "$*" >&2; exit 1; }
log() { printf '[llama/smoke] %s\n' "$*" >&2; }
command -v curl >/dev/null || die "curl is required"
command -v jq >/dev/null || die "jq is required (apt-get install jq)"

if [[ $# -ge 1 ]]; then
    MODEL="$1"
else
    MODEL="$("$SCRIPT_DIR/make-model.sh" | tail -n 1)"
fi
[[ -s "$MODEL" ]] || die "model not found: $MODEL"
SERVER="${BATON_LLAMA_SERVER:-$("$SCRIPT_DIR/build.sh" | tail -n 1)}"
[[ -x "$SERVER" ]] || die "llama-server not executable: $SERVER"

free_port() {
    if command -v python3 >/dev/null; then
        python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
        return
    fi
    local p
    for _ in $(seq 1 50); do
        p=$((20000 + RANDOM % 40000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
    done
    die "no free port found"
}

PORT="$(free_port)"
BASE="http://127.0.0.1:$PORT"
LOGFILE="$(mktemp -t llama-smoke.XXXXXX.log)"
# shellcheck disable=SC2086
"$SERVER" -m "$MODEL" --host 127.0.0.1 --port "$PORT" --threads 1 -c 512 ${SMOKE_EXTRA_ARGS:-} \
    >"$LOGFILE" 2>&1 &
PID=$!
cleanup() {
    kill "$PID" 2>/dev/null || true
    wait "$PID" 2>/dev/null || true
}
trap cleanup EXIT

t0=$(date +%s%N)
deadline=$((SECONDS + 60))
until curl -fsS "$BASE/health" >/dev/null 2>&1; do
    if ! kill -0 "$PID" 2>/dev/null; then
        tail -n 30 "$LOGFILE" >&2
        die "llama-server exited during startup (log: $LOGFILE)"
    fi
    ((SECONDS < deadline)) || { tail -n 30 "$LOGFILE" >&2; die "llama-server not healthy after 60 s (log: $LOGFILE)"; }
    sleep 0.05
done
log "ready in $((($(date +%s%N) - t0) / 1000000)) ms on port $PORT ($SERVER)"

FAILS=0
check() {  # check NAME ACTUAL EXPECTED
    if [[ "$2" == "$3" ]]; then
        log "PASS $1"
    else
        log "FAIL $1: got '$2', want '$3'"
        FAILS=$((FAILS + 1))
    fi
}

post() {  # post JSON -> reply body
    curl -fsS -H 'Content-Type: application/json' -d "$1" "$BASE/v1/chat/completions"
}

MSG='"messages":[{"role":"user","content":"안녕하세요"}]'

for temp in 0 1; do
    r="$(post "{$MSG,\"temperature\":$temp}")"
    [[ "${SMOKE_VERBOSE:-0}" == 1 ]] && printf '%s\n' "$r"
    check "non-stream t=$temp content" "$(jq -r '.choices[0].message.content' <<<"$r")" "$EXPECTED"
    check "non-stream t=$temp finish_reason" "$(jq -r '.choices[0].finish_reason' <<<"$r")" "stop"
    check "non-stream t=$temp usage" "$(jq -r '.usage.completion_tokens > 0 and .usage.prompt_tokens > 0' <<<"$r")" "true"

    s="$(post "{$MSG,\"temperature\":$temp,\"stream\":true}")"
    [[ "${SMOKE_VERBOSE:-0}" == 1 ]] && printf '%s\n' "$s"
    data="$(sed -n 's/^data: //p' <<<"$s" | grep -v '^\[DONE\]$')"
    check "stream t=$temp content" "$(jq -rj '.choices[0].delta.content // empty' <<<"$data")" "$EXPECTED"
    check "stream t=$temp finish_reason" "$(jq -r '.choices[0].finish_reason // empty' <<<"$data" | tail -n 1)" "stop"
    check "stream t=$temp [DONE]" "$(grep -c '^data: \[DONE\]' <<<"$s")" "1"
done

r="$(post "{$MSG,\"temperature\":0,\"max_tokens\":3}")"
[[ "${SMOKE_VERBOSE:-0}" == 1 ]] && printf '%s\n' "$r"
check "max_tokens=3 content" "$(jq -r '.choices[0].message.content' <<<"$r")" "Hello from the"
check "max_tokens=3 finish_reason" "$(jq -r '.choices[0].finish_reason' <<<"$r")" "length"
check "max_tokens=3 usage" "$(jq -r '.usage.completion_tokens' <<<"$r")" "3"

s="$(post "{$MSG,\"stream\":true,\"stream_options\":{\"include_usage\":true}}")"
[[ "${SMOKE_VERBOSE:-0}" == 1 ]] && printf '%s\n' "$s"
data="$(sed -n 's/^data: //p' <<<"$s" | grep -v '^\[DONE\]$')"
check "stream include_usage chunk" "$(jq -r 'select(.usage != null) | (.usage.total_tokens > 0)' <<<"$data" | tail -n 1)" "true"

if ((FAILS > 0)); then
    die "$FAILS check(s) failed (server log: $LOGFILE)"
fi
rm -f "$LOGFILE"
log "all checks passed"
