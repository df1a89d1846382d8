#!/usr/bin/env bash
# The kit's ttfb.sh loop (a new curl process and connection per request, curl on CPU 0), but
# interleaved request by request: direct fixture, each baton binary, nginx, in turn. On a noisy
# host the targets then share every slow moment instead of getting different ones.
#   bench/peer/ttfb-interleaved.sh [COUNT] [BATON_BINARY...]     (default: 300, build/baton)
# Needs the kit's references running (../shared/peer-bench/start.sh). Each binary gets its own
# port from 28091 and its own usage store; prints p50/p90 time to first byte per target.
set -euo pipefail
cd "$(dirname "$0")/../.."
COUNT=${1:-300}
shift || true
[ $# -gt 0 ] || set -- build/baton
mkdir -p var
work=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$work"' EXIT
targets=("direct 28080 /stream/v1/chat/completions gpt-4o-mini")
port=28091
for binary in "$@"; do
  rm -f "var/bench-$port.db" "var/bench-$port.db-wal" "var/bench-$port.db-shm"
  sed "s/127.0.0.1:28090/127.0.0.1:$port/; s#var/bench.db#var/bench-$port.db#" bench/peer/baton-bench.yaml >"$work/$port.yaml"
  # Its own session, like the references (see run.sh).
  BATON_ACCESS_LOG=var/bench-access-$port.log setsid taskset -c 1 "$binary" serve --config "$work/$port.yaml" >/dev/null 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/health/ready" >/dev/null && break; sleep 0.05; done
  targets+=("$(basename "$binary")@$port $port /v1/chat/completions bench-sse")
  port=$((port + 1))
done
targets+=("nginx 28081 /stream/v1/chat/completions gpt-4o-mini")
for target in "${targets[@]}"; do
  read -r name _ _ model <<<"$target"
  printf '{"model":"%s","stream":true,"messages":[{"role":"user","content":"Say hello."}]}' "$model" >"$work/$name.body"
done
for ((i = 0; i < COUNT; i++)); do
  for target in "${targets[@]}"; do
    read -r name tport tpath _ <<<"$target"
    taskset -c 0 curl -s -m 5 -o /dev/null -w '%{http_code} %{time_starttransfer}\n' -X POST \
      -H 'Content-Type: application/json' -H 'Authorization: Bearer sk-bench' \
      --data-binary @"$work/$name.body" "http://127.0.0.1:$tport$tpath" >>"$work/$name.txt" || true
  done
done
for target in "${targets[@]}"; do
  read -r name _ <<<"$target"
  awk '$1 == 200 { print $2 * 1000 }' "$work/$name.txt" | sort -n | awk -v name="$name" '
    { v[NR] = $1 }
    END { if (NR) printf "TTFB %-24s ok=%d p50 %.3f ms  p90 %.3f ms\n", name, NR, v[int(NR * 0.5 + 0.999)], v[int(NR * 0.9 + 0.999)] }'
done
