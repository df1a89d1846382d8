#!/usr/bin/env bash
# Runs each libFuzzer target for a fixed time on a scratch copy of its committed corpus (so the
# corpus in git does not grow), then prints executions, exec/s, corpus size and exit status.
# Usage: fuzz/run.sh BUILD_DIR SECONDS [TARGET...]   (all targets when none named)
#        FUZZ_RUNS=N fuzz/run.sh ...   stops each target after N executions (SECONDS stays the cap)
#        FUZZ_LOGS=DIR                 where the per-target logs go (default BUILD_DIR/fuzz-logs)
# Exits non-zero when any target crashed, leaked, timed out or broke an invariant; the input that
# did it is left in BUILD_DIR/fuzz-artifacts/TARGET/ (copy it to fuzz/regressions/TARGET/).
set -uo pipefail

build_dir="$1"
seconds="$2"
shift 2
root="$(cd "$(dirname "$0")/.." && pwd)"
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=(http_request http_response openai_request sse_stream pii_guard config_text guard_jsonl admin_json outbound_url)

max_len() {  # long enough for what each parser meets, short enough to stay fast
  case "$1" in
    http_request) echo 8192 ;;    # a head up to the limits, plus some body
    http_response) echo 8192 ;;   # an upstream's head and a chunked body
    config_text) echo 8192 ;;     # examples/baton.yaml is ~5 KB
    admin_json) echo 2048 ;;
    outbound_url) echo 1024 ;;
    *) echo 4096 ;;
  esac
}

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
logs="${FUZZ_LOGS:-$build_dir/fuzz-logs}"
mkdir -p "$logs"
failed=0
printf '%-16s %12s %9s %7s %6s %s\n' target executions exec/s corpus status log
for target in "${targets[@]}"; do
  binary="$build_dir/fuzz/${target}_fuzz"
  log="$logs/$target.log"
  artifacts="$build_dir/fuzz-artifacts/$target/"
  mkdir -p "$artifacts" "$scratch/$target"
  cp "$root/fuzz/corpus/$target/"* "$scratch/$target/" 2>/dev/null || true
  extra=()
  [[ -n "${FUZZ_RUNS:-}" ]] && extra+=("-runs=$FUZZ_RUNS")
  regressions=()
  [[ -d "$root/fuzz/regressions/$target" ]] && regressions+=("$root/fuzz/regressions/$target")
  "$binary" -max_total_time="$seconds" -max_len="$(max_len "$target")" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$artifacts" "${extra[@]}" "$scratch/$target" ${regressions[@]+"${regressions[@]}"} >"$log" 2>&1
  status=$?
  execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
  rate="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)"
  corpus="$(ls "$scratch/$target" | wc -l)"
  printf '%-16s %12s %9s %7s %6s %s\n' "$target" "${execs:--}" "${rate:--}" "$corpus" "$status" "$log"
  [[ $status -eq 0 ]] || failed=1
done
exit $failed
