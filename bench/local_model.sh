#!/usr/bin/env bash
# Tokens/s of a random-weight ~53 M-parameter GGUF through baton vs the same llama-server hit
# directly, in one run, alternating; plus the time from `baton serve` to /health/ready.
#   bench/local_model.sh [ROUNDS=5] [MAX_TOKENS=128]
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-5}
MAX_TOKENS=${2:-128}
BIN_DIR=.cache/llama/3.22.1/bin
MODEL=var/models/random-53m.gguf
[ -x "$BIN_DIR/make_tiny_gguf" ] || scripts/llama/build.sh >/dev/null
[ -s "$MODEL" ] || "$BIN_DIR/make_tiny_gguf" --mode random --out "$MODEL" \
  --n-embd 512 --n-layer 6 --n-ff 1536 --n-head 8 --vocab 32000 --type f16 >/dev/null
CONFIG=$(mktemp --suffix=.yaml)
cat >"$CONFIG" <<YAML
server: { listen: "127.0.0.1:0", workers: 1, access_log: off }
providers:
  local: { kind: llama-server, model_path: "$PWD/$MODEL", threads: 1, ctx_size: 1024 }
models:
  - name: local
    deployments: [ { provider: local, model: random } ]
YAML
LOG=$(mktemp)
start=$(date +%s.%N)
./build/baton serve --config "$CONFIG" >"$LOG.out" 2>"$LOG" &
BATON=$!
trap 'kill $BATON 2>/dev/null; rm -f "$CONFIG" "$LOG" "$LOG.out"' EXIT
for _ in $(seq 600); do grep -q "listening on" "$LOG.out" 2>/dev/null && break; sleep 0.05; done
PORT=$(grep -o 'listening on [0-9.]*:[0-9]*' "$LOG.out" | grep -o '[0-9]*$')
for _ in $(seq 1200); do curl -sf "http://127.0.0.1:$PORT/health/ready" >/dev/null && break; sleep 0.05; done
ready=$(date +%s.%N)
LLAMA_PORT=$(grep -o 'llama-server ready on 127.0.0.1:[0-9]*' "$LOG" | grep -o '[0-9]*$' | tail -1)
printf 'baton serve -> /health/ready: %.0f ms (local llama-server with a 53 M-parameter model)\n' "$(echo "($ready - $start) * 1000" | bc)"

body=$(printf '{"model":"local","messages":[{"role":"user","content":"Hello"}],"max_tokens":%d,"temperature":0,"ignore_eos":true}' "$MAX_TOKENS")
rate() {  # URL -> tokens/s of one request
  local t0 t1 tokens
  t0=$(date +%s.%N)
  tokens=$(curl -sf "$1" -H 'content-type: application/json' -d "$body" | grep -o '"completion_tokens":[0-9]*' | grep -o '[0-9]*$')
  t1=$(date +%s.%N)
  echo "$tokens / ($t1 - $t0)" | bc -l
}
rate "http://127.0.0.1:$PORT/v1/chat/completions" >/dev/null  # warm-up
via=0; direct=0
for i in $(seq "$ROUNDS"); do
  d=$(rate "http://127.0.0.1:$LLAMA_PORT/v1/chat/completions")
  v=$(rate "http://127.0.0.1:$PORT/v1/chat/completions")
  printf 'round %d: direct %.1f tok/s, via baton %.1f tok/s\n' "$i" "$d" "$v"
  direct=$(echo "$direct + $d" | bc -l); via=$(echo "$via + $v" | bc -l)
done
printf 'mean: direct %.1f tok/s, via baton %.1f tok/s, ratio %.3f\n' "$(echo "$direct/$ROUNDS" | bc -l)" \
  "$(echo "$via/$ROUNDS" | bc -l)" "$(echo "$via/$direct" | bc -l)"
