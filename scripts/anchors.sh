#!/usr/bin/env bash
# Our parts against their physical limits, in one run on one machine, written to results/anchors.{md,json}:
#   1. the load generator vs wrk             (scripts/compare-wrk.sh)      goal: req/s ≥ 0.9×, CPU per request ≤ 1.2×
#   2. cached GET /api/events/:id vs nginx   (scripts/compare-nginx.sh)    goal: ≥ 0.5× nginx's req/s
#   3. worker drain (batch, hot event) vs pgbench single-row TPS (scripts/drain-bench.sh)   goal: ≥ 3×
#   4. the seeder vs psql \copy              (scripts/measure-seed.sh)     goal: ≥ 0.9× \copy's rate
# Each line shows both figures and the ratio. Takes about 6 minutes (SEED_RUNS=1, the drain bench's 6 runs).
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== 1/4 generator vs wrk";             bash scripts/compare-wrk.sh >/dev/null
echo "== 2/4 cached GET vs nginx";          bash scripts/compare-nginx.sh >/dev/null
echo "== 3/4 worker drain vs pgbench";      bash scripts/drain-bench.sh >/dev/null
echo "== 4/4 seeder vs psql \\copy";        RUNS="${SEED_RUNS:-1}" bash scripts/measure-seed.sh >/dev/null
python3 - <<'PY'
import datetime, json, os
load = lambda name: json.load(open(f"results/{name}.json"))
wrk, nginx, drain, seed = load("compare-wrk"), load("cached-get-vs-nginx"), load("drain-bench"), load("seed-vs-copy")
batch = next(r for r in drain["runs"] if r["strategy"] == "batch" and r["events"] == "hot")
lines = [
    ("generator vs wrk (req/s)", f"{wrk['bench']['rps']:,.0f} req/s", f"{wrk['wrk']['rps']:,.0f} req/s", wrk["ratio_rps"], "≥ 0.9", wrk["ratio_rps"] >= 0.9),
    ("generator vs wrk (CPU per request)", f"{wrk['bench']['cpu_seconds_per_100k']:.3f} s/100k", f"{wrk['wrk']['cpu_seconds_per_100k']:.3f} s/100k",
     wrk["ratio_cpu_per_request"], "≤ 1.2", wrk["ratio_cpu_per_request"] <= 1.2),
    ("cached GET vs nginx", f"{nginx['server']['rps']:,.0f} req/s", f"{nginx['nginx']['rps']:,.0f} req/s", nginx["ratio_rps"], "≥ 0.5", nginx["ratio_rps"] >= 0.5),
    ("batch drain (hot event) vs pgbench", f"{batch['decided_per_second']:,} decided/s", f"{drain['pgbench_tps']:,} TPS",
     round(batch["decided_per_second"] / drain["pgbench_tps"], 2), "≥ 3", batch["decided_per_second"] / drain["pgbench_tps"] >= 3),
    ("seeder vs psql \\copy (events)", f"{seed['seeder']['median_events_rows_per_second']:,} rows/s", f"{seed['psql_copy']['median_rows_per_second']:,} rows/s",
     seed["ratio_events_rate"], "≥ 0.9", seed["ratio_events_rate"] >= 0.9),
]
now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
md = [f"# Anchors: our parts against their physical limits", "",
      f"Measured {now} on {os.cpu_count()} cores with `scripts/anchors.sh` (one run, one machine; details in each linked file).", "",
      "| anchor | ours | limit | ratio | goal | |", "|---|---|---|---|---|---|"]
md += [f"| {name} | {ours} | {limit} | **{ratio}** | {goal} | {'met' if ok else 'MISSED'} |" for name, ours, limit, ratio, goal, ok in lines]
md += ["", f"Cached GET: the same server's no-work route (`GET /api/health/live`, the floor of its HTTP stack) reaches "
        f"{nginx['server_no_work_route']['rps']:,.0f} req/s = {nginx['no_work_route_ratio_rps']}× nginx; the cached read runs at "
        f"{nginx['cached_vs_no_work_route']} of that floor."]
md += ["", "Files: [compare-wrk](compare-wrk.md), [cached-get-vs-nginx](cached-get-vs-nginx.md), [drain-bench](drain-bench.md), [seed-vs-copy](seed-vs-copy.md).", ""]
open("results/anchors.md", "w").write("\n".join(md))
json.dump({"measured_at": now, "anchors": [{"name": n, "ours": o, "limit": l, "ratio": r, "goal": g, "met": ok} for n, o, l, r, g, ok in lines]},
          open("results/anchors.json", "w"), indent=2)
print("\n".join(md))
for name, ours, limit, ratio, goal, ok in lines:
    print(f"{name}: {ours} vs {limit} = {ratio}× (goal {goal}) {'met' if ok else 'MISSED'}")
PY
