#!/usr/bin/env bash
# The server's own speed against a base: the stack's floor, the cached read and a refused booking (keep-alive and on
# a new connection), each as the server's CPU per request and req/s against nginx answering the same bytes in the same
# round (scripts/compare-nginx.sh: one core each, wrk on the other). Ratios to nginx, round by round, so a base kept
# in the repo (results/perf-gate-base.json: its commit, machine and rounds) still means something in another session
# or on a similar machine, where raw req/s would not.
#
# A measure is a certain regression when every round of this build is worse than every round of the base, and the
# medians differ by more than its tolerance: TOLERANCE (15 %) or twice the drift between the base's own runs, if more.
# Rounds of one run are not independent (they share the machine's mood of the moment): two sittings of the same build
# measured 3.10 and 3.56 × nginx for a refusal's CPU, every round apart. The base therefore keeps several runs of its
# build, made in different sittings, and their spread widens the verdict. It warns (exit 0), or fails with STRICT=1.
# ACCEPT=1 makes this run the base (one run); ACCEPT=add adds this run to the base (the same commit, later sitting).
# Writes results/perf-gate.{md,json}.
#
#   scripts/perf-gate.sh                       # release build, 3 rounds of 4 s per pattern (about 2 min after the build)
#   STRICT=1 SKIP_BUILD=1 scripts/perf-gate.sh
#   ACCEPT=1 scripts/perf-gate.sh; ACCEPT=add scripts/perf-gate.sh   # a new base after a change meant to move the figures
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
ROUNDS="${ROUNDS:-3}"; DURATION="${DURATION:-4}"; TOLERANCE="${TOLERANCE:-15}"; STRICT="${STRICT:-0}"; ACCEPT="${ACCEPT:-0}"
BASE_FILE="${BASE_FILE:-results/perf-gate-base.json}"; OUT="${OUT:-results/perf-gate}"
NOW=".run/perf-gate/now"
mkdir -p .run/perf-gate
echo "== perf gate: compare-nginx, $ROUNDS rounds of $DURATION s per pattern and target"
ROUNDS="$ROUNDS" DURATION="$DURATION" OUT="$NOW" bash scripts/compare-nginx.sh >.run/perf-gate/compare.log 2>&1 \
    || { echo "== perf gate: compare-nginx failed:"; tail -20 .run/perf-gate/compare.log; exit 1; }
accept=(); strict=()
if [ "$ACCEPT" = add ]; then accept=(--accept add); elif [ "$ACCEPT" = 1 ] || [ ! -f "$BASE_FILE" ]; then accept=(--accept replace); fi
[ "$STRICT" != 1 ] || strict=(--strict)
"$BIN"/happening-bench report perf-gate "$NOW.json" --base "$BASE_FILE" --tolerance "$TOLERANCE" --out "$OUT" "${accept[@]}" "${strict[@]}"
