#!/usr/bin/env bash
# Two builds of the server and workers through the flash-sale day, interleaved: ROUNDS rounds (4), each runs the base
# build and this checkout's (in turn first), at the demo's sizes unless told otherwise (100,000 events, browse 1,000
# req/s after a 10 s warm-up, a 5,000-user sale 10 s into the measured browsing, two for-update workers). Reported per
# run and as each side's median: browse during the sale (p50, p90, p99), the sale's own p99, whether the generator was
# flagged in the sale's window. This checkout's Bench measures both. One run of that 0.2–0.4 s window moves by 2× and
# more on this machine: compare the medians, never two runs.
# Writes $OUT.{md,json} (results/day-ab).
#
#   BASE=42a7e61 scripts/compare-day.sh              # a commit, built with `swift build -c release` in a worktree
#   BASE_BIN=../old/.build/release scripts/compare-day.sh
#   ROUNDS=6 EVENTS=1000000 RATE=2000 WARM=30s SALE_AT=40s scripts/compare-day.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
ROUNDS="${ROUNDS:-4}"; EVENTS="${EVENTS:-100000}"; RATE="${RATE:-1000}"; WARM="${WARM:-10s}"; SALE_AT="${SALE_AT:-20s}"
SECONDS_STEADY="${SECONDS_STEADY:-30s}"; USERS="${USERS:-5000}"; TICKETS="${TICKETS:-100}"; PORT="${DAY_PORT:-5300}"
OUT="${OUT:-results/day-ab}"; WORK=.run/compare-day
services_up postgres redis rabbitmq
release_build "$WORK" happening-server happening-worker happening-seed happening-bench

if [ -z "${BASE_BIN:-}" ]; then
    [ -n "${BASE:-}" ] || { echo "compare-day: set BASE (a commit) or BASE_BIN (a directory of release binaries)" >&2; exit 2; }
    base_commit=$(git rev-parse --short "$BASE")
    if [ "$(git -C "$WORK/base" rev-parse --short HEAD 2>/dev/null || true)" != "$base_commit" ]; then
        git worktree remove --force "$WORK/base" 2>/dev/null || rm -rf "$WORK/base"
        git worktree add --force --detach "$WORK/base" "$base_commit" >/dev/null
    fi
    echo "== release build of $base_commit in $WORK/base (log: $WORK/base-build.log)"
    (cd "$WORK/base" && swift build -c release >"../base-build.log" 2>&1) || { grep error "$WORK/base-build.log" | head; exit 1; }
    BASE_BIN="$WORK/base/.build/release"
else
    base_commit=$(git -C "$BASE_BIN" rev-parse --short HEAD 2>/dev/null || echo "$BASE_BIN")
fi
head_commit=$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- Sources Package.swift || echo "-dirty")

# run LABEL BIN → the result JSON's path (the gate's own output in $WORK/LABEL.out)
run() {
    "$BIN"/happening-bench gate scenarios/flash-sale-day.yaml --bin "$2" --port "$PORT" --logs "$WORK/$1" --out "$WORK/results" \
        --server-env CACHE=on --set events="$EVENTS" --set browse_rate="$RATE" --set warm="$WARM" --set sale_at="$SALE_AT" \
        --set seconds="$SECONDS_STEADY" --set users="$USERS" --set bench_users="$((USERS + 10000))" --set tickets="$TICKETS" \
        >"$WORK/$1.out" 2>&1 || true
    grep -oE "$WORK/results/[^ ,]*flash-sale-day\.json" "$WORK/$1.out" | tail -1
}

runs=()
for round in $(seq 1 "$ROUNDS"); do
    order="base head"; [ $((round % 2)) = 0 ] && order="head base"
    for side in $order; do
        bin="$BIN"; [ "$side" = base ] && bin="$BASE_BIN"
        result=$(run "$side-$round" "$bin")
        echo "   round $round $side: ${result:-no result (see $WORK/$side-$round.out)}"
        runs+=("$side=$round=${result:-}")
    done
done

"$BIN"/happening-bench report compare-day --base "$base_commit" --head "$head_commit" --events "$EVENTS" --browse-rate "$RATE" --users "$USERS" \
    --out "$OUT" "${runs[@]}"
echo "report: $OUT.md, $OUT.json"
