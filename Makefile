# The two commands: `make run` (serve the example config, offline, local model) and `make test`.
BUILD_DIR   ?= build
BUILD_TYPE  ?= Release
CONFIG      ?= examples/baton.yaml
CMAKE_FLAGS ?=
JOBS        ?= $(shell nproc)

.PHONY: run test build deps deps-test llama model node-deps bench clean fuzz fuzz-build test-asan test-tsan test-hardening soak soak-ci

run: deps build model
	@mkdir -p var
	./$(BUILD_DIR)/baton serve --config $(CONFIG)

test: deps-test build model node-deps
	cd $(BUILD_DIR) && ctest --output-on-failure --timeout 900 -j2

build:
	@cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_FLAGS) >/dev/null
	cmake --build $(BUILD_DIR) -j $(JOBS)

deps:
	@scripts/install-deps.sh build

deps-test:
	@scripts/install-deps.sh test

# llama.cpp's llama-server, built from the pinned node-llama-cpp source bundle (cached in .cache/llama).
llama:
	@scripts/llama/build.sh >/dev/null

# The tiny deterministic GGUF model the `local` provider serves (var/models/tiny.gguf).
model: llama
	@scripts/llama/make-model.sh >/dev/null

node-deps:
	@cd tests && (npm ci --no-audit --no-fund --loglevel=error >/dev/null 2>&1 || npm install --no-audit --no-fund --loglevel=error >/dev/null)

bench: deps build
	@scripts/install-deps.sh bench
	@ls $(BUILD_DIR)/*_bench 2>/dev/null | while read b; do echo "== $$b"; $$b; done

# Soak: mixed JSON/SSE load with a fault mix through peer-bench's fixture and `hey` for SOAK_MINUTES,
# sampling RSS, fds and status counts; fails on > 5 % RSS growth after warm-up. See docs/RELIABILITY.md.
SOAK_MINUTES ?= 30
soak: deps build node-deps
	@scripts/install-deps.sh bench
	node bench/soak/soak.mjs --minutes $(SOAK_MINUTES)

# CI's short soak: one minute against our own fixture (no peer-bench needed); statuses, errors and
# liveness are judged, RSS growth only reported.
soak-ci: deps build node-deps
	@scripts/install-deps.sh bench
	node bench/soak/soak.mjs --minutes 1 --sample-s 5 --own-fixture

# Fuzzing (clang + libFuzzer, ASan+UBSan): each target in fuzz/ for FUZZ_SECONDS on a scratch copy of
# fuzz/corpus/<target>; fails when any crashes. FUZZ_TARGETS narrows the set. See docs/RELIABILITY.md.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?=
fuzz: fuzz-build
	fuzz/run.sh build-fuzz $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# build-fuzz holds the fuzz targets and, built from the same instrumented objects, baton and the test
# suites under clang's ASan + UBSan: one extra build serves fuzzing and the sanitizer run in CI.
fuzz-build: deps
	@scripts/install-deps.sh fuzz
	@CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBATON_FUZZ=ON \
	  -DBATON_WERROR=OFF -DBUILD_TESTING=ON -DBATON_BENCH=OFF >/dev/null
	cmake --build build-fuzz -j $(JOBS)

# What CI runs after `make test`: every unit and integration test against the clang ASan + UBSan +
# LeakSanitizer build, then each fuzz target for FUZZ_CI_SECONDS. See docs/RELIABILITY.md.
FUZZ_CI_SECONDS ?= 10
SANITIZER_ENV = ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
test-hardening: deps-test model node-deps fuzz-build
	cd build-fuzz && $(SANITIZER_ENV) ctest --output-on-failure --timeout 1800 -j2 $(SANITIZER_CTEST)
	fuzz/run.sh build-fuzz $(FUZZ_CI_SECONDS)

# The unit and integration suites under sanitizers (GCC; -Werror off: GCC 12 warns falsely in
# src/http/upstream.cpp under ASan). SANITIZER_CTEST narrows the run, e.g. SANITIZER_CTEST="-L unit".
SANITIZER_CTEST ?=
SANITIZER_CMAKE = -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBATON_WERROR=OFF -DBATON_BENCH=OFF
test-asan: deps-test model node-deps
	@cmake -S . -B build-asan $(SANITIZER_CMAKE) -DBATON_SANITIZE=ON >/dev/null
	cmake --build build-asan -j $(JOBS)
	cd build-asan && $(SANITIZER_ENV) ctest --output-on-failure --timeout 1800 -j2 $(SANITIZER_CTEST)

test-tsan: deps-test model node-deps
	@cmake -S . -B build-tsan $(SANITIZER_CMAKE) -DBATON_SANITIZE_THREAD=ON >/dev/null
	cmake --build build-tsan -j $(JOBS)
	cd build-tsan && TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
	  ctest --output-on-failure --timeout 1800 -j2 $(SANITIZER_CTEST)

clean:
	rm -rf $(BUILD_DIR)
