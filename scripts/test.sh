#!/usr/bin/env bash
# make test and make unit. One build serves every stage: a debug build with the tests, so the unit tests, the
# suites and the gates (oversell, fuzz, chaos) all run on the same binaries and nothing is compiled twice. The
# gates check correctness only (no oversell, no 5xx, no lost booking), so they need no optimised build; a debug
# build of this package takes about three quarters of the time of a release one on 2 cores, and figures come from
# release builds elsewhere (make demo, scripts writing to results/). Each stage prints its wall time; a table of
# them closes the run (and is appended to $STAGE_LOG when set, for .ci/run's total).
#
#   scripts/test.sh build     only the build
#   scripts/test.sh unit      build, then the unit tests (no services needed)
#   scripts/test.sh all       the formatter's lint, build, unit tests, the parallel suites, the Bench's serial suite, the three gates
#
#   TEST_CONFIG=release       build and run everything in release instead (with testable imports)
#   PERF_GATE=1               also the server's perf gate at the end (scripts/perf-gate.sh: a release build and ~2 min
#                             of compare-nginx; it warns on a certain regression, PERF_GATE_STRICT=1 fails the run)
set -uo pipefail
cd "$(dirname "$0")/.."
MODE="${1:-all}"
RUN=.run
mkdir -p "$RUN"
CONFIG="${TEST_CONFIG:-debug}"
export BUILD_CONFIG="$CONFIG"  # the gates run the binaries of this build
BUILD_FLAGS=(-c "$CONFIG")
[ "$CONFIG" = release ] && BUILD_FLAGS+=(-Xswiftc -enable-testing)
SHOW='^(✔ Test|✘|✔ Suite)|error:|Expectation failed'
STAGE_LOG="${STAGE_LOG:-$RUN/stages.log}"
[ -n "${STAGE_LOG_KEEP:-}" ] || : >"$STAGE_LOG"

# stage NAME COMMAND...: runs COMMAND, prints and records its wall time and outcome, returns its status.
stage() {
    local name="$1"; shift
    local started=$SECONDS
    echo "== $name"
    "$@"
    local status=$?
    local took=$((SECONDS - started))
    printf '%s\t%s\t%s\n' "$name" "$took" "$([ "$status" -eq 0 ] && echo ok || echo FAILED)" >>"$STAGE_LOG"
    echo "== $name: ${took} s, $([ "$status" -eq 0 ] && echo ok || echo FAILED)"
    return "$status"
}

build() {
    echo "swift build ${BUILD_FLAGS[*]} --build-tests; log in $RUN/build.log"
    if ! swift build "${BUILD_FLAGS[@]}" --build-tests >"$RUN/build.log" 2>&1; then
        grep -E 'error' "$RUN/build.log" | head -40
        return 1
    fi
    tail -1 "$RUN/build.log"
}

# swift_tests LOG ARGS...: runs swift test on the build above, shows one line per test, keeps the whole output.
swift_tests() {
    local log="$1"; shift
    swift test "${BUILD_FLAGS[@]}" --skip-build "$@" 2>&1 | tee -a "$log" | grep --line-buffered -E "$SHOW"
    return "${PIPESTATUS[0]}"
}

# The formatter's verdict on every Swift file (.swift-format; `make format` rewrites them); any finding fails.
format_lint() {
    swift format lint --strict --configuration .swift-format --recursive --parallel Sources Tests Package.swift 2>&1 | tee "$RUN/format-lint.log" | head -40
    return "${PIPESTATUS[0]}"
}
unit() { swift_tests "$RUN/test-output.log" --filter UnitTests; }
suites() {
    # The suites that talk to the services, in parallel; the Bench's timing-sensitive measurements come after,
    # one at a time (on 2 cores they cannot share it with the rest and still measure a 20 ms delay as 20 ms).
    . "$RUN/env"
    swift_tests "$RUN/test-output.log" --skip UnitTests --skip BenchTests
}
bench_suite() { . "$RUN/env"; swift_tests "$RUN/test-output.log" --filter BenchTests --no-parallel; }

oversell_gate() {
    SKIP_BUILD=1 bash scripts/ci-flash-sale.sh 2>&1 | tee "$RUN/ci-gate.log" | grep --line-buffered -vE '^bench: (connect|intake) '
    return "${PIPESTATUS[0]}"
}
fuzz_pass() {
    SKIP_BUILD=1 FUZZ_EXAMPLES=5 OUT="$RUN/fuzz-ci" FUZZ_PORT=5096 bash scripts/fuzz.sh 2>&1 | tee "$RUN/fuzz-ci.log" \
        | grep --line-buffered -E '^==|generated|^\||^_+ [A-Z]+ /|^- ST[0-9]+|^\[[0-9]{3}\]|^    curl '
    return "${PIPESTATUS[0]}"
}
chaos_gate() {
    SKIP_BUILD=1 SCENARIO=scenarios/flash-sale-chaos.yaml WORKERS=3 OUT="$RUN/chaos-gate" CI_GATE_PORT=5098 \
        bash scripts/ci-flash-sale.sh --set users=1000 --set tickets=10 2>&1 \
        | tee "$RUN/chaos-gate.log" | grep --line-buffered -vE '^bench: (connect|intake|rush|outage|recovered) '
    return "${PIPESTATUS[0]}"
}
abuse_gates() {
    SKIP_BUILD=1 OUT="$RUN/abuse" bash scripts/ci-abuse.sh 2>&1 \
        | tee "$RUN/abuse.log" | grep --line-buffered -vE '^bench: (connect|hoard|rush|guesses|sign-ins|half-sent|idle|browsing|expensive-reads|member-traffic) '
    return "${PIPESTATUS[0]}"
}

: >"$RUN/test-output.log"
status=0
[ "$MODE" = all ] && { stage "format: swift format lint (.swift-format)" format_lint || status=1; }
stage "build ($CONFIG, with tests)" build || exit 1
[ "$MODE" = build ] && exit 0
stage "unit tests (no services)" unit || status=1
if [ "$MODE" = all ]; then
    stage "suites against the services (parallel)" suites || status=1
    stage "the Bench's measurement suite (serial)" bench_suite || status=1
    stage "oversell gate: scenarios/flash-sale-ci.yaml, two workers" oversell_gate; gate=$?
    stage "short fuzz pass: schemathesis as four roles (FUZZ_EXAMPLES=5; make fuzz runs 60)" fuzz_pass; fuzz=$?
    stage "chaos gate: scenarios/flash-sale-chaos.yaml at CI size, a worker killed, broker and database restarted" chaos_gate; chaos=$?
    stage "abuse gates: hoarders, brute force, slow clients, expensive reads (scenarios/abuse-*.yaml)" abuse_gates; abuse=$?
    [ $gate -eq 0 ] && [ $fuzz -eq 0 ] && [ $chaos -eq 0 ] && [ $abuse -eq 0 ] || status=1
    if [ "${PERF_GATE:-0}" = 1 ]; then
        stage "perf gate: floor, cached read, refusals against nginx and results/perf-gate-base.json" \
            env STRICT="${PERF_GATE_STRICT:-0}" bash scripts/perf-gate.sh || status=1
    fi
fi

echo "== test summary"
grep -hE 'Test run with [0-9]+ tests?' "$RUN/test-output.log"
echo "passed: $(grep -cE '^✔ Test "' "$RUN/test-output.log")   failed: $(grep -cE '^✘ Test "[^"]*" failed' "$RUN/test-output.log")"
grep -E '^✘ Test "' "$RUN/test-output.log" || true
if [ "$MODE" = all ]; then
    echo "oversell gate: $([ $gate -eq 0 ] && echo passed || echo FAILED)"
    echo "fuzz (short pass): $([ $fuzz -eq 0 ] && echo passed || echo FAILED)"
    echo "chaos gate: $([ $chaos -eq 0 ] && echo passed || echo FAILED)"
    echo "abuse gates: $([ $abuse -eq 0 ] && echo passed || echo FAILED)"
fi
echo "== stage times"
awk -F'\t' '{ printf "  %5d s  %-6s  %s\n", $2, $3, $1 }' "$STAGE_LOG"
exit $status
