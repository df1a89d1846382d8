#!/usr/bin/env bash
# Installs the Debian packages baton needs, only those missing (idempotent, quiet when all present).
# Usage: scripts/install-deps.sh [build|test|bench|fuzz]   (build/test/bench: each includes the ones before it;
#        fuzz: build + clang and its libFuzzer/sanitizer runtimes)
set -euo pipefail

level="${1:-build}"
build_pkgs=(build-essential cmake ninja-build pkg-config ccache git
  libboost1.81-all-dev libboost-json1.81-dev libssl-dev libsimdjson-dev libyaml-cpp-dev
  libspdlog-dev libfmt-dev libcli11-dev libsqlite3-dev libpq-dev libhiredis-dev libvectorscan-dev
  nodejs npm ca-certificates curl)
test_pkgs=(libgtest-dev libgmock-dev libbenchmark-dev openssl postgresql redis-server)
bench_pkgs=(wrk hey nginx-light linux-perf)
fuzz_pkgs=(clang libclang-rt-14-dev)

wanted=("${build_pkgs[@]}")
case "$level" in
  build) ;;
  test) wanted+=("${test_pkgs[@]}") ;;
  bench) wanted+=("${test_pkgs[@]}" "${bench_pkgs[@]}") ;;
  fuzz) wanted+=("${fuzz_pkgs[@]}") ;;
  *) echo "install-deps: unknown level '$level' (build|test|bench|fuzz)" >&2; exit 2 ;;
esac

missing=()
for pkg in "${wanted[@]}"; do
  # node/npm may come from elsewhere (e.g. NodeSource); accept the commands.
  if [[ "$pkg" == nodejs && -x "$(command -v node)" ]] || [[ "$pkg" == npm && -x "$(command -v npm)" ]]; then continue; fi
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "install-deps: installing ${missing[*]}" >&2
sudo_cmd=()
[[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
