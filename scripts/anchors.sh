#!/usr/bin/env bash
# Our parts against their physical limits, in one run on one machine, written to results/anchors.{md,json}:
#   1. the load generator vs wrk             (scripts/compare-wrk.sh)      goal: req/s ≥ 0.9×, CPU per request ≤ 1.2×
#   2. cached GET /api/events/:id vs nginx   (scripts/compare-nginx.sh)    goal: ≥ 0.5× nginx's req/s
#   3. worker drain (batch, hot event) vs pgbench single-row TPS (scripts/drain-bench.sh)   goal: ≥ 3×
#   4. the seeder vs psql \copy              (scripts/measure-seed.sh)     goal: ≥ 0.9× \copy's rate
# Each line shows both figures and the ratio. Takes about 6 minutes (SEED_RUNS=1, the drain bench's 6 runs).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
echo "== 1/4 generator vs wrk";             bash scripts/compare-wrk.sh >/dev/null
echo "== 2/4 cached GET vs nginx";          bash scripts/compare-nginx.sh >/dev/null
echo "== 3/4 worker drain vs pgbench";      bash scripts/drain-bench.sh >/dev/null
echo "== 4/4 seeder vs psql \\copy";        RUNS="${SEED_RUNS:-1}" bash scripts/measure-seed.sh >/dev/null
"$BIN"/happening-bench report anchors
