#!/usr/bin/env bash
# Measures the load generator itself against wrk: nginx (one worker, loopback, pinned to core 1) serves a ~1 KB
# static JSON file; wrk and happening-bench take turns against it with the same connections and duration, each
# pinned to core 0. Prints req/s, p50/p99 and the generator's CPU seconds (user + sys) per 100,000 requests, writes
# results/compare-wrk.{md,json}, and ends with the line `bench/wrk: req/s ratio R, CPU per request ratio C`.
#
#   scripts/compare-wrk.sh                          # 50 connections, 10 s each
#   CONNECTIONS=100 DURATION=20 scripts/compare-wrk.sh
set -euo pipefail
cd "$(dirname "$0")/.."
CONNECTIONS="${CONNECTIONS:-50}"; DURATION="${DURATION:-10}"; PORT="${PORT:-58080}"
. scripts/lib.sh
require_tool wrk wrk; require_tool nginx nginx-light; require_tool taskset util-linux
[ -x /usr/bin/time ] || { echo "== /usr/bin/time is needed: apt-get install time" >&2; exit 1; }
WORK="$PWD/.run/compare-wrk"; rm -rf "$WORK"; mkdir -p "$WORK/www" "$WORK/logs" "$WORK/bench"
release_build "$WORK" happening-bench
. scripts/static_target.sh
static_target "$WORK" "$PORT"

cat >"$WORK/static.yaml" <<YAML
name: compare-wrk
description: A static ~1 KB JSON file from nginx, closed model (the generator's own cost).
requests:
  - { name: static, path: /static.json, expect: [200] }
phases:
  - { name: steady, model: closed, connections: $CONNECTIONS, duration: ${DURATION}s }
YAML

echo "== wrk -t1 -c$CONNECTIONS -d${DURATION}s (core 0)"
/usr/bin/time -f "%U %S" -o "$WORK/wrk.time" taskset -c 0 wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency "$URL" >"$WORK/wrk.out"
for engine in raw curl; do
    echo "== happening-bench --engine $engine, closed model, $CONNECTIONS connections, ${DURATION}s, 1 thread (core 0)"
    mkdir -p "$WORK/bench-$engine"
    /usr/bin/time -f "%U %S" -o "$WORK/bench-$engine.time" taskset -c 0 .build/release/happening-bench run "$WORK/static.yaml" \
        --target "http://127.0.0.1:$PORT" --engine "$engine" --threads 1 --progress none --out "$WORK/bench-$engine" >"$WORK/bench-$engine.out"
done

mkdir -p results
python3 - "$WORK" "$CONNECTIONS" "$DURATION" "$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- Sources || echo +changes)" <<'PY'
import glob, json, os, platform, sys, datetime
sys.path.insert(0, "scripts")
from generator_figures import cpu, wrk as wrk_figures
work, connections, duration, commit = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
wrk = wrk_figures(f"{work}/wrk.out", f"{work}/wrk.time")
def bench_figures(engine):
    result = json.load(open(sorted(glob.glob(f"{work}/bench-{engine}/*.json"))[-1]))
    phase = result["runs"][0]["phases"][-1]
    return {"requests": phase["requests"], "rps": phase["requests_per_second"], "p50_ms": phase["latency"]["p50"] / 1000,
            "p99_ms": phase["latency"]["p99"] / 1000, "errors": phase["errors"], "cpu_seconds": cpu(f"{work}/bench-{engine}.time")}
bench, curl_engine = bench_figures("raw"), bench_figures("curl")
for tool in (wrk, bench, curl_engine):
    tool["cpu_seconds_per_100k"] = round(tool["cpu_seconds"] / tool["requests"] * 100_000, 3)
ratio_rps = round(bench["rps"] / wrk["rps"], 3)
ratio_cpu = round(bench["cpu_seconds_per_100k"] / wrk["cpu_seconds_per_100k"], 3)
out = {"measured_at": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
       "machine": {"cores": os.cpu_count(), "arch": platform.machine()}, "commit": commit, "command": "scripts/compare-wrk.sh",
       "connections": connections, "duration_seconds": duration, "wrk": wrk, "bench": bench, "bench_engine_curl": curl_engine,
       "ratio_rps": ratio_rps, "ratio_cpu_per_request": ratio_cpu,
       "goals": {"ratio_rps_at_least": 0.9, "ratio_cpu_at_most": 1.2, "latency_within": 0.1}}
json.dump(out, open("results/compare-wrk.json", "w"), indent=2)
row = lambda name, t: f"| {name} | {t['requests']:,} | {t['rps']:,.0f} | {t['p50_ms']:.3f} ms | {t['p99_ms']:.3f} ms | {t['cpu_seconds']:.2f} s | {t['cpu_seconds_per_100k']:.3f} s |"
md = "\n".join([
    "# The load generator against wrk", "",
    f"Measured {out['measured_at']} on {os.cpu_count()} cores ({platform.machine()}), commit {commit}, with `scripts/compare-wrk.sh`: nginx (1 worker, core 1) serving",
    f"a ~1 KB static JSON file over loopback; each generator pinned to core 0, {connections} connections, {duration} s, closed model.", "",
    "| generator | requests | req/s | p50 | p99 | CPU (user+sys) | CPU per 100,000 requests |", "|---|---|---|---|---|---|---|",
    row("wrk -t1", wrk), row("happening-bench (default engine: raw)", bench), row("happening-bench --engine curl", curl_engine), "",
    "The raw engine opens its plain-HTTP sockets and frames HTTP/1.1 itself (over TLS libcurl connects and encrypts); `--engine curl` makes every request a libcurl",
    "transfer, whose per-transfer work (URL and header parsing, allocations, a liveness poll per reuse, timers) costs the difference.", "",
    f"bench/wrk: req/s ratio {ratio_rps}, CPU per request ratio {ratio_cpu} (goals: ≥ 0.9 and ≤ 1.2).", ""])
open("results/compare-wrk.md", "w").write(md)
print(md)
print(f"bench/wrk: req/s ratio {ratio_rps}, CPU per request ratio {ratio_cpu}")
PY
