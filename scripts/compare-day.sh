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

mkdir -p "$(dirname "$OUT")"
python3 - "$OUT" "$base_commit" "$head_commit" "$EVENTS" "$RATE" "$USERS" "${runs[@]}" <<'PY'
import json, statistics, sys
out, base, head, events, rate, users, items = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6], sys.argv[7:]
rows = []
for item in items:
    side, round_, path = item.split("=", 2)
    row = {"side": side, "round": int(round_), "report": path or None}
    try:
        run = json.load(open(path))["runs"][0]
        sale = next(p for p in run["phases"] if p.get("lane") == "sale")
        window = next(w for w in run["windows"] if w["name"] == f"browse@{sale['name']}")
        row.update(browse_p50_us=window["latency"]["p50"], browse_p90_us=window["latency"]["p90"], browse_p99_us=window["latency"]["p99"],
                   browse_requests=window["requests"], sale_p99_us=sale["latency"]["p99"],
                   generator_flagged=bool(window.get("generator", {}).get("reasons")))
    except (OSError, ValueError, KeyError, StopIteration, IndexError):
        row["error"] = "no result"
    rows.append(row)
measures = ["browse_p50_us", "browse_p90_us", "browse_p99_us", "sale_p99_us"]
medians = {}
for side in ("base", "head"):
    done = [r for r in rows if r["side"] == side and "error" not in r]
    medians[side] = {m: statistics.median(r[m] for r in done) if done else None for m in measures}
    medians[side]["runs"] = len(done)
    medians[side]["generator_flagged"] = sum(r["generator_flagged"] for r in done)
ms = lambda us: "–" if us is None else f"{us / 1000:.1f} ms"
ratio = lambda m: (f"{medians['head'][m] / medians['base'][m]:.2f}×" if medians["base"][m] and medians["head"][m] is not None else "–")
lines = [f"# The flash-sale day, two builds interleaved: {base} (base) and {head} (head)", "",
         f"`scripts/compare-day.sh`: {len(rows) // 2} rounds, each side once a round (in turn first); {int(events):,} events, browse "
         f"{int(rate):,} req/s, a {int(users):,}-user sale, two for-update workers; this checkout's Bench for both. "
         "Browse = the browse lane's requests due during the sale.", "",
         "| median | base | head | head ÷ base |", "|---|---|---|---|"]
for m, label in zip(measures, ["browse p50", "browse p90", "browse p99", "the sale's p99"]):
    lines.append(f"| {label} | {ms(medians['base'][m])} | {ms(medians['head'][m])} | {ratio(m)} |")
lines.append(f"| generator flagged (runs) | {medians['base']['generator_flagged']} of {medians['base']['runs']} | "
             f"{medians['head']['generator_flagged']} of {medians['head']['runs']} | |")
lines += ["", "| round | side | browse p50 | p90 | p99 | requests | sale p99 | generator flagged |", "|---|---|---|---|---|---|---|---|"]
for r in rows:
    if "error" in r:
        lines.append(f"| {r['round']} | {r['side']} | no result | | | | | |")
    else:
        lines.append(f"| {r['round']} | {r['side']} | {ms(r['browse_p50_us'])} | {ms(r['browse_p90_us'])} | {ms(r['browse_p99_us'])} | "
                     f"{r['browse_requests']} | {ms(r['sale_p99_us'])} | {'yes' if r['generator_flagged'] else 'no'} |")
open(out + ".md", "w").write("\n".join(lines) + "\n")
json.dump({"base": base, "head": head, "events": int(events), "browse_rate": int(rate), "users": int(users), "medians": medians, "runs": rows},
          open(out + ".json", "w"), indent=2)
print("\n".join(lines))
PY
echo "report: $OUT.md, $OUT.json"
