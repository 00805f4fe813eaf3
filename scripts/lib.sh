# Sourced by every script that runs the product binaries: one build, one health wait, one way to start and stop
# background processes, one way to bring the services up.
#
#   services_up SERVICE...        scripts/services.sh up SERVICE... (its output shown only when it fails), then .run/env
#   release_build OUT PRODUCT...  `swift build -c $BUILD_CONFIG` (every product; release unless BUILD_CONFIG says
#                                 otherwise), log in OUT/build.log, errors printed; BIN is the directory holding the
#                                 binaries. With SKIP_BUILD=1 and every PRODUCT already in BIN, no build (make test's
#                                 gates reuse the test build: each build, even with nothing changed, recompiles
#                                 Hummingbird for about 45 s).
#   wait_healthy URL [SECONDS]    polls URL until it answers 2xx; fails (and says so) after SECONDS (default 60)
#   start_bg LOG COMMAND...       COMMAND in the background, output to LOG; its pid joins BG_PIDS
#   stop_bg                       SIGTERMs every pid in BG_PIDS, waits up to 10 s for each, SIGKILLs what is left
#   require_tool TOOL PACKAGE     fails with an install hint when TOOL is not on PATH (scripts install nothing)
#
# make test runs the gates on its debug test build (BUILD_CONFIG=debug): they check correctness (no oversell, no
# 5xx, no lost booking), never speed. Figures (make demo, results/) always come from release builds.
BUILD_CONFIG="${BUILD_CONFIG:-release}"
BIN=".build/$BUILD_CONFIG"
BG_PIDS=()

services_up() {
    local output
    if ! output=$(bash scripts/services.sh up "$@" 2>&1); then
        echo "== the services did not start:"; echo "$output"; return 1
    fi
    . .run/env
}

release_build() {
    local out="$1"; shift
    mkdir -p "$out"
    if [ "${SKIP_BUILD:-0}" = 1 ] && (cd "$BIN" 2>/dev/null && ls "$@" >/dev/null 2>&1); then
        echo "== using the $BUILD_CONFIG build from the previous step"
        return 0
    fi
    echo "== $BUILD_CONFIG build ($*); log in $out/build.log"
    if ! swift build -c "$BUILD_CONFIG" >"$out/build.log" 2>&1; then grep -E 'error' "$out/build.log" | head -20; return 1; fi
    tail -1 "$out/build.log"
}

wait_healthy() {
    local url="$1" seconds="${2:-60}" started=$SECONDS
    until curl -sf -o /dev/null --max-time 2 "$url"; do
        if [ $((SECONDS - started)) -ge "$seconds" ]; then
            echo "== nothing answered $url within $seconds s" >&2
            return 1
        fi
        sleep 0.1
    done
}

require_tool() {
    command -v "$1" >/dev/null && return 0
    echo "== $1 is needed: apt-get install $2" >&2
    return 1
}

start_bg() {
    local log="$1"; shift
    "$@" >"$log" 2>&1 &
    BG_PIDS+=($!)
}

stop_bg() {
    local pid
    for pid in "${BG_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${BG_PIDS[@]}"; do
        for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
    done
    wait "${BG_PIDS[@]}" 2>/dev/null || true
    BG_PIDS=()
}
