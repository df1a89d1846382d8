# The two commands: `make run` (serve the example config, offline, local model) and `make test`.
BUILD_DIR   ?= build
BUILD_TYPE  ?= Release
CONFIG      ?= examples/baton.yaml
CMAKE_FLAGS ?=
JOBS        ?= $(shell nproc)

.PHONY: run test build deps deps-test llama model node-deps bench clean

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

clean:
	rm -rf $(BUILD_DIR)
