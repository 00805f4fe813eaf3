# Sourced by the scripts that run the product binaries (ci-flash-sale.sh, fuzz.sh, demo.sh).
#
#   release_build OUT PRODUCT...   `swift build -c $BUILD_CONFIG` (every product; release unless BUILD_CONFIG says
#                                  otherwise), log in OUT/build.log, errors printed; sets BIN to the directory holding
#                                  the binaries. With SKIP_BUILD=1 and every named PRODUCT already in BIN, no build
#                                  (make test's gates reuse the test build: each build, even with nothing changed,
#                                  recompiles Hummingbird for about 45 s).
#
# make test runs the gates on its debug test build (BUILD_CONFIG=debug): they check correctness (no oversell, no
# 5xx, no lost booking), never speed, and a second, release build would take CI longer than every test together.
# Figures (make demo, results/) always come from release builds.
BUILD_CONFIG="${BUILD_CONFIG:-release}"
BIN=".build/$BUILD_CONFIG"
release_build() {
    local out="$1"; shift
    if [ "${SKIP_BUILD:-0}" = 1 ] && (cd "$BIN" 2>/dev/null && ls "$@" >/dev/null 2>&1); then
        echo "== using the $BUILD_CONFIG build from the previous step"
        return 0
    fi
    echo "== $BUILD_CONFIG build ($*); log in $out/build.log"
    if ! swift build -c "$BUILD_CONFIG" >"$out/build.log" 2>&1; then grep -E 'error' "$out/build.log" | head -20; return 1; fi
    tail -1 "$out/build.log"
}
