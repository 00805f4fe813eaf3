#!/usr/bin/env bash
# The server's own speed against a base: the stack's floor, the cached read and a refused booking (keep-alive and on
# a new connection), each as the server's CPU per request and req/s against nginx answering the same bytes in the same
# round (scripts/compare-nginx.sh: one core each, wrk on the other). Ratios to nginx, round by round, so a base kept
# in the repo (results/perf-gate-base.json: its commit, machine and rounds) still means something in another session
# or on a similar machine, where raw req/s would not.
#
# A measure is a certain regression when every round of this build is worse than every round of the base, and the
# medians differ by more than TOLERANCE (10%): with 3 rounds a side, two builds that are the same cross that line by
# chance in 1 of 20 orderings at most (and then only if the medians also drift past the tolerance). It warns (exit 0),
# or fails with STRICT=1. ACCEPT=1 records this run as the base. Writes results/perf-gate.{md,json}.
#
#   scripts/perf-gate.sh                       # release build, 3 rounds of 4 s per pattern (about 2.5 min after the build)
#   STRICT=1 SKIP_BUILD=1 scripts/perf-gate.sh
#   ACCEPT=1 scripts/perf-gate.sh              # after a change that is meant to move the figures
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS="${ROUNDS:-3}"; DURATION="${DURATION:-4}"; TOLERANCE="${TOLERANCE:-10}"; STRICT="${STRICT:-0}"; ACCEPT="${ACCEPT:-0}"
BASE_FILE="${BASE_FILE:-results/perf-gate-base.json}"; OUT="${OUT:-results/perf-gate}"
NOW=".run/perf-gate/now"
mkdir -p .run/perf-gate
echo "== perf gate: compare-nginx, $ROUNDS rounds of $DURATION s per pattern and target"
ROUNDS="$ROUNDS" DURATION="$DURATION" OUT="$NOW" bash scripts/compare-nginx.sh >.run/perf-gate/compare.log 2>&1 \
    || { echo "== perf gate: compare-nginx failed:"; tail -20 .run/perf-gate/compare.log; exit 1; }
if [ "$ACCEPT" = 1 ] || [ ! -f "$BASE_FILE" ]; then
    cp "$NOW.json" "$BASE_FILE"
    echo "== perf gate: $BASE_FILE now holds this run ($(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["commit"])' "$BASE_FILE"))"
fi
python3 scripts/perf_gate.py "$BASE_FILE" "$NOW.json" "$TOLERANCE" "$OUT" "$STRICT"
