# Sourced by the scripts that run release binaries (ci-flash-sale.sh, fuzz.sh, demo.sh).
#
#   release_build OUT PRODUCT...   `swift build -c release` (every product), log in OUT/build.log, errors printed;
#                                  with SKIP_BUILD=1 and every named PRODUCT already in .build/release, no build
#                                  (make test's later gates reuse the first gate's build: each build, even with
#                                  nothing changed, recompiles Hummingbird for about 45 s).
release_build() {
    local out="$1"; shift
    if [ "${SKIP_BUILD:-0}" = 1 ] && (cd .build/release 2>/dev/null && ls "$@" >/dev/null 2>&1); then
        echo "== using the release build from the previous step"
        return 0
    fi
    echo "== release build ($*); log in $out/build.log"
    if ! swift build -c release >"$out/build.log" 2>&1; then grep -E 'error' "$out/build.log" | head -20; return 1; fi
    tail -1 "$out/build.log"
}
