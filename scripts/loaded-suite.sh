#!/usr/bin/env bash
# Flakiness check: the parallel suite (every suite but the unit tests and the Bench's serial measurements) run
# RUNS times in a row while HOGS CPU hogs (stress-ng --cpu, from Debian; `yes` if it cannot be had) keep the
# machine's cores busy. Every run must be green: a test whose outcome depends on how busy the machine is
# fails here. Builds first (the same build as make test), starts the services, writes a summary for people and
# machines to $OUT/summary.{md,json}.
#
#   scripts/loaded-suite.sh                 # RUNS=5 HOGS=2
#   RUNS=10 HOGS=4 scripts/loaded-suite.sh
set -uo pipefail
cd "$(dirname "$0")/.."
RUNS="${RUNS:-5}"; HOGS="${HOGS:-2}"; OUT="${OUT:-.run/loaded-suite}"
CONFIG="${TEST_CONFIG:-debug}"
mkdir -p "$OUT"; rm -f "$OUT"/run-*.log
bash scripts/services.sh up postgres redis rabbitmq >/dev/null || { echo "== the services did not start"; exit 1; }
. .run/env
if ! command -v stress-ng >/dev/null && [ "$(id -u)" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq stress-ng >/dev/null 2>&1 || true
fi
TEST_CONFIG="$CONFIG" bash scripts/test.sh build >/dev/null || { echo "== build failed; see .run/build.log"; exit 1; }

hogs=()
start_hogs() {
    if command -v stress-ng >/dev/null; then
        stress-ng --cpu "$HOGS" --timeout 3600s --quiet & hogs+=($!)
    else
        for _ in $(seq 1 "$HOGS"); do timeout 3600 yes >/dev/null & hogs+=($!); done
    fi
}
stop_hogs() { for pid in "${hogs[@]}"; do kill "$pid" 2>/dev/null; done; wait "${hogs[@]}" 2>/dev/null; hogs=(); }
trap stop_hogs EXIT INT TERM

hog_tool=$(command -v stress-ng >/dev/null && echo "stress-ng --cpu $HOGS" || echo "$HOGS x yes")
echo "== the parallel suite $RUNS times beside $hog_tool on $(nproc) cores ($CONFIG build, commit $(git rev-parse --short HEAD))"
green=0; rows=(); json=()
for run in $(seq 1 "$RUNS"); do
    start_hogs
    started=$SECONDS
    swift test -c "$CONFIG" $([ "$CONFIG" = release ] && echo -Xswiftc -enable-testing) --skip-build --skip UnitTests --skip BenchTests >"$OUT/run-$run.log" 2>&1
    status=$?
    took=$((SECONDS - started))
    stop_hogs
    passed=$(grep -cE '^✔ Test "' "$OUT/run-$run.log"); failed=$(grep -cE '^✘ Test "[^"]*" failed' "$OUT/run-$run.log")
    verdict=$([ $status -eq 0 ] && [ "$failed" -eq 0 ] && echo green || echo RED)
    [ "$verdict" = green ] && green=$((green + 1))
    echo "run $run: $verdict, $passed passed, $failed failed, ${took} s"
    grep -E '^✘ Test "' "$OUT/run-$run.log" | head -5
    rows+=("| $run | $verdict | $passed | $failed | $took |")
    json+=("{\"run\": $run, \"green\": $([ "$verdict" = green ] && echo true || echo false), \"passed\": $passed, \"failed\": $failed, \"seconds\": $took}")
done
{
    echo "# The parallel suite beside CPU hogs"
    echo
    echo "$RUNS runs of \`swift test -c $CONFIG --skip UnitTests --skip BenchTests\` beside $hog_tool, $(nproc) cores,"
    echo "commit $(git rev-parse --short HEAD), $(date -u +%Y-%m-%dT%H:%MZ). Command: \`RUNS=$RUNS HOGS=$HOGS TEST_CONFIG=$CONFIG scripts/loaded-suite.sh\`."
    echo
    echo "| run | verdict | passed | failed | seconds |"
    echo "|---|---|---|---|---|"
    printf '%s\n' "${rows[@]}"
    echo
    echo "**$green of $RUNS green.**"
} >"$OUT/summary.md"
printf '{"runs": %s, "hogs": %s, "hog_tool": "%s", "commit": "%s", "green": %s, "results": [%s]}\n' "$RUNS" "$HOGS" "$hog_tool" \
    "$(git rev-parse --short HEAD)" "$green" "$(IFS=,; echo "${json[*]}")" >"$OUT/summary.json"
echo "== $green of $RUNS runs green; summary in $OUT/summary.md and .json"
[ "$green" -eq "$RUNS" ]
