#!/usr/bin/env bash
# baton next to nginx and Portkey with ../shared/peer-bench, in one run.
#   bench/peer/run.sh [compare.sh args...]     (default: the full table, c=16 and c=64, json and sse)
# Env: PEER_BENCH (default ../shared/peer-bench), BATON_CONFIG (default bench/peer/baton-bench.yaml).
#      BATON_BENCH_KEY=1: governance on (bench/peer/baton-bench-keys.yaml unless BATON_CONFIG is set):
#      a virtual key with rpm/tpm/parallel/budget limits is created and every request carries it.
set -euo pipefail
cd "$(dirname "$0")/../.."
PEER_BENCH=${PEER_BENCH:-../shared/peer-bench}
mkdir -p var
headers=("$@")
# Every run starts from an empty usage store and access log: a store grown by earlier runs makes
# each usage row's B-tree insert slower, and the log would only grow.
rm -f var/bench.db var/bench.db-wal var/bench.db-shm
: >var/bench-access.log
if [[ "${BATON_BENCH_KEY:-}" == 1 ]]; then
  CONFIG=${BATON_CONFIG:-bench/peer/baton-bench-keys.yaml}
  rm -f var/bench-keys.db var/bench-keys.db-wal var/bench-keys.db-shm
  key=$(./build/baton keys create --config "$CONFIG" --name bench --rpm 4000000000 --tpm 4000000000 \
          --max-parallel 100000 --budget 1000000000 --period monthly | sed -E 's/.*"key":"([^"]+)".*/\1/')
  headers=("Authorization: Bearer $key")
fi
CONFIG=${BATON_CONFIG:-${CONFIG:-bench/peer/baton-bench.yaml}}
"$PEER_BENCH/setup.sh" >/dev/null
"$PEER_BENCH/start.sh" >/dev/null
# A session of its own, as start.sh gives nginx and Portkey. Left in this shell's session, baton
# shares an autogroup with wrk, which runs on CPU 0: the kernel splits a group's weight between
# CPUs by load, so on CPU 1 baton weighed about 60 % of the fixture and was preempted by it on
# every request (0.89 involuntary switches per request; 0.44 in its own session, nginx 0.43).
# Not a process group leader here, setsid execs in place: $! is baton's PID.
setsid taskset -c 1 ./build/baton serve --config "$CONFIG" >var/bench-baton.out 2>var/bench-baton.err &
echo $! > var/bench-baton.pid
trap 'kill $(cat var/bench-baton.pid) 2>/dev/null || true; "$PEER_BENCH/stop.sh" >/dev/null 2>&1 || true' EXIT
for _ in $(seq 100); do curl -sf http://127.0.0.1:28090/health/ready >/dev/null && break; sleep 0.1; done
GW_MODEL=bench-json GW_STREAM_MODEL=bench-sse \
  "$PEER_BENCH/compare.sh" baton 28090 /v1/chat/completions "$PWD/var/bench-baton.pid" "${headers[@]}"
