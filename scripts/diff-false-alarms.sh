#!/usr/bin/env bash
# `make diff-alarms`: does `happening-bench diff` cry wolf? RUNS runs of one release build of the homepage scenario
# against one server (CACHE=on), then diffs of that build against itself in every mode — one run a side without and
# with a calibration, two and five runs a side — and the power to see +10 % on one route's p50 with five a side
# (`happening-bench report diff-false-alarms`). Writes results/diff-false-alarms.{md,json}.
#
#   make diff-alarms                       # 100 runs of 5 s phases: about 25 minutes after the build
#   RUNS=100 SECONDS_PER_PHASE=5s SKIP_BUILD=1 bash scripts/diff-false-alarms.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
RUNS="${RUNS:-100}"; SECONDS_PER_PHASE="${SECONDS_PER_PHASE:-5s}"; PORT="${PORT:-5400}"; OUT="${OUT:-results/diff-false-alarms}"
WORK=.run/diff-alarms; mkdir -p "$WORK" "$(dirname "$OUT")"
[ "$RUNS" -ge 100 ] || { echo "== RUNS must be at least 100 (20 diffs of 5 runs a side come from 100 runs)"; exit 2; }
services_up postgres redis
release_build "$WORK" happening-server happening-seed happening-bench
trap stop_bg EXIT
"$BIN"/happening-seed --min-events 100000 --progress none >"$WORK/seed.log" 2>&1 || { tail -5 "$WORK/seed.log"; exit 1; }
start_bg "$WORK/server.log" env PORT="$PORT" CACHE=on CACHE_PREFIX="diff-alarms-$$:" LOG_LEVEL=error "$BIN"/happening-server
wait_healthy "http://127.0.0.1:$PORT/api/health"
command="happening-bench run scenarios/homepage.yaml --repeat $RUNS --set seconds=$SECONDS_PER_PHASE"
echo "== $command (one server, one build)"
rm -rf "$WORK/runs"
"$BIN"/happening-bench run scenarios/homepage.yaml --target "http://127.0.0.1:$PORT" --repeat "$RUNS" --set seconds="$SECONDS_PER_PHASE" \
    --progress none --out "$WORK/runs" >"$WORK/run.log" 2>&1 || { tail -20 "$WORK/run.log"; exit 1; }
result=$(ls "$WORK"/runs/*.json | head -1)
"$BIN"/happening-bench report diff-false-alarms "$result" --command "$command" --out "$OUT"
echo "== reports: $OUT.md, $OUT.json"
