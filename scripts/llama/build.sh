#!/usr/bin/env bash
# Build a pinned, CPU-only llama.cpp `llama-server` (plus our own
# `make_tiny_gguf` generator) without network access beyond the npm registry.
#
# The llama.cpp sources come from the `node-llama-cpp` npm package, which ships
# the exact llama.cpp release it was made for as a git bundle
# (package/llama/gitRelease.bundle). Everything is cached under
# $BATON_LLAMA_CACHE (default: <repo>/.cache/llama); re-running is cheap.
#
# Usage: scripts/llama/build.sh
#   Progress goes to stderr; the last stdout line is the llama-server path.
#
# Environment:
#   BATON_LLAMA_CACHE  cache directory (default <repo>/.cache/llama)
#   BATON_LLAMA_JOBS   parallel compile jobs (default 2)
set -euo pipefail

NODE_LLAMA_CPP_VERSION="3.22.1"

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/../.." && pwd)"
CACHE="${BATON_LLAMA_CACHE:-$REPO_ROOT/.cache/llama}"
JOBS="${BATON_LLAMA_JOBS:-2}"

VDIR="$CACHE/$NODE_LLAMA_CPP_VERSION"
SRC="$VDIR/src"
BUILD="$VDIR/build"
TINY_BUILD="$VDIR/build-tiny"
BIN="$VDIR/bin"
SERVER="$BIN/llama-server"
TINY="$BIN/make_tiny_gguf"
TINY_SRC="$REPO_ROOT/tools/tiny_gguf"
TARBALL="$CACHE/node-llama-cpp-$NODE_LLAMA_CPP_VERSION.tgz"
BUNDLE_IN_TARBALL="package/llama/gitRelease.bundle"

log() { printf '[llama/build] %s\n' "$*" >&2; }
die() { printf '[llama/build] ERROR: %s\n' "$*" >&2; exit 1; }

need() {
    command -v "$1" >/dev/null 2>&1 || die "'$1' is required but not found in PATH ($2)"
}

server_works() {
    [[ -x "$SERVER" ]] && "$SERVER" --version >/dev/null 2>&1
}

# The generator is up to date when it is newer than every file of its source.
tiny_up_to_date() {
    [[ -x "$TINY" ]] || return 1
    [[ -z "$(find "$TINY_SRC" -type f -newer "$TINY" -print -quit)" ]]
}

# Fast path: nothing to do.
if server_works && tiny_up_to_date; then
    echo "$SERVER"
    exit 0
fi

need cmake "apt-get install cmake"
need git "apt-get install git"
need c++ "apt-get install g++"
need tar "apt-get install tar"
mkdir -p "$CACHE" "$BIN"

# Serialize concurrent builds sharing one cache.
if command -v flock >/dev/null 2>&1; then
    exec 9>"$CACHE/.build-$NODE_LLAMA_CPP_VERSION.lock"
    flock 9
fi

# Prefer Ninja for fresh build trees; an existing tree keeps its generator.
generator_for() {
    GENERATOR=()
    if [[ ! -f "$1/CMakeCache.txt" ]] && command -v ninja >/dev/null 2>&1; then GENERATOR=(-G Ninja); fi
}

build_server() {
    # 1. Fetch the npm tarball (reused when present).
    if [[ ! -s "$TARBALL" ]]; then
        need npm "install Node.js/npm"
        log "npm pack node-llama-cpp@$NODE_LLAMA_CPP_VERSION"
        local tmp
        tmp="$(mktemp -d "$CACHE/.pack.XXXXXX")"
        (cd "$tmp" && npm pack --silent "node-llama-cpp@$NODE_LLAMA_CPP_VERSION" >/dev/null) \
            || { rm -rf "$tmp"; die "npm pack node-llama-cpp@$NODE_LLAMA_CPP_VERSION failed (is the npm registry reachable?)"; }
        mv "$tmp/node-llama-cpp-$NODE_LLAMA_CPP_VERSION.tgz" "$TARBALL" \
            || { rm -rf "$tmp"; die "npm pack did not produce node-llama-cpp-$NODE_LLAMA_CPP_VERSION.tgz"; }
        rm -rf "$tmp"
    fi

    # 2. Extract the git bundle and clone it.
    local bundle="$VDIR/gitRelease.bundle"
    if [[ ! -s "$bundle" ]]; then
        log "extracting $BUNDLE_IN_TARBALL from $(basename "$TARBALL")"
        local tmp
        tmp="$(mktemp -d "$VDIR/.extract.XXXXXX")"
        tar -xzf "$TARBALL" -C "$tmp" "$BUNDLE_IN_TARBALL" "package/llama/llama.cpp.info.json" \
            || { rm -rf "$tmp"; die "could not extract $BUNDLE_IN_TARBALL (corrupt tarball? delete $TARBALL and retry)"; }
        mv "$tmp/package/llama/llama.cpp.info.json" "$VDIR/llama.cpp.info.json"
        mv "$tmp/$BUNDLE_IN_TARBALL" "$bundle"
        rm -rf "$tmp"
    fi
    local head
    head="$(git bundle list-heads "$bundle" | awk '$2 == "HEAD" { print $1; exit }')"
    [[ -n "$head" ]] || die "git bundle $bundle has no HEAD"

    if [[ ! -d "$SRC/.git" ]] || [[ "$(git -C "$SRC" rev-parse HEAD 2>/dev/null)" != "$head" ]]; then
        log "cloning llama.cpp $head from the bundle into $SRC"
        rm -rf "$SRC" "$SRC.tmp" "$BUILD"
        git clone --quiet --no-checkout "$bundle" "$SRC.tmp" || die "git clone of $bundle failed"
        git -C "$SRC.tmp" -c advice.detachedHead=false checkout --quiet --detach "$head" \
            || die "git checkout $head failed"
        mv "$SRC.tmp" "$SRC"
    fi

    # 3. Configure: CPU only, static, nothing that downloads at build or run time.
    #    (LLAMA_CURL no longer exists in this release: it is only a deprecation stub.)
    log "configuring (CPU, static, no OpenSSL, no web UI download)"
    generator_for "$BUILD"
    nice -n 10 cmake -S "$SRC" -B "$BUILD" "${GENERATOR[@]}" \
        -DCMAKE_BUILD_TYPE=Release \
        -DBUILD_SHARED_LIBS=OFF \
        -DLLAMA_OPENSSL=OFF \
        -DLLAMA_USE_PREBUILT_UI=OFF \
        -DLLAMA_BUILD_UI=OFF \
        -DLLAMA_BUILD_TESTS=OFF \
        -DLLAMA_BUILD_EXAMPLES=OFF \
        -DLLAMA_BUILD_APP=OFF \
        -DLLAMA_BUILD_SERVER=ON \
        -DLLAMA_BUILD_TOOLS=ON \
        -DLLAMA_LLGUIDANCE=OFF \
        -DGGML_NATIVE=ON \
        -DGGML_CUDA=OFF -DGGML_VULKAN=OFF -DGGML_METAL=OFF -DGGML_HIP=OFF \
        -DGGML_SYCL=OFF -DGGML_OPENCL=OFF -DGGML_RPC=OFF \
        >&2 || die "cmake configure failed (see output above)"

    log "building llama-server with $JOBS jobs (takes several minutes on 2 cores)"
    local t0=$SECONDS
    nice -n 10 cmake --build "$BUILD" --config Release --target llama-server -j "$JOBS" >&2 \
        || die "llama-server build failed (see output above)"
    log "llama-server built in $((SECONDS - t0)) s"

    local out="$BUILD/bin/llama-server"
    [[ -x "$out" ]] || die "build finished but $out is missing"
    cp -f "$out" "$SERVER.tmp"
    mv -f "$SERVER.tmp" "$SERVER"
    server_works || die "$SERVER was built but '--version' fails"
}

build_tiny() {
    [[ -f "$SRC/ggml/include/gguf.h" ]] || die "llama.cpp source missing at $SRC (delete $SERVER and re-run)"
    log "building make_tiny_gguf"
    generator_for "$TINY_BUILD"
    nice -n 10 cmake -S "$TINY_SRC" -B "$TINY_BUILD" "${GENERATOR[@]}" \
        -DCMAKE_BUILD_TYPE=Release \
        -DLLAMA_SOURCE_DIR="$SRC" \
        >&2 || die "cmake configure of tools/tiny_gguf failed"
    nice -n 10 cmake --build "$TINY_BUILD" --target make_tiny_gguf -j "$JOBS" >&2 \
        || die "make_tiny_gguf build failed"
    cp -f "$TINY_BUILD/make_tiny_gguf" "$TINY.tmp"
    mv -f "$TINY.tmp" "$TINY"
}

if server_works; then
    log "reusing $SERVER"
else
    build_server
fi
tiny_up_to_date || build_tiny

log "$("$SERVER" --version 2>&1 | grep -m1 -i version || true)"
echo "$SERVER"
