"""Writes results/compare-tls.{md,json} from scripts/compare-tls.sh's runs (wrk, h2load and happening-bench outputs)."""
import datetime
import glob
import json
import os
import platform
import re
import sys

sys.path.insert(0, "scripts")
from generator_figures import cpu, ms, wrk as wrk_figures  # noqa: E402

work, connections, h2_connections, streams, duration, commit = sys.argv[1], *map(int, sys.argv[2:6]), sys.argv[6]


def per_100k(tool):
    tool["cpu_seconds_per_100k"] = round(tool["cpu_seconds"] / max(1, tool["requests"]) * 100_000, 3)
    tool["cpu_share_of_one_core"] = round(tool["cpu_seconds"] / duration, 3)
    return tool


wrk = per_100k(wrk_figures(f"{work}/wrk.out", f"{work}/wrk.time"))
h2_out = open(f"{work}/h2load.out").read()
done = re.search(r"requests: (\d+) total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed", h2_out)
h2load = per_100k({
    "requests": int(done.group(3)),
    "rps": float(re.search(r"finished in [\d.]+s, ([\d.]+) req/s", h2_out).group(1)),
    "mean_ms": ms(re.search(r"time for request:\s+\S+\s+\S+\s+(\S+)", h2_out).group(1)),
    "errors": int(done.group(4)),
    "cpu_seconds": cpu(f"{work}/h2load.time")})


def bench(name):
    result = json.load(open(sorted(glob.glob(f"{work}/bench-{name}/*.json"))[-1]))
    phase = result["runs"][0]["phases"][-1]
    return per_100k({
        "requests": phase["requests"], "rps": phase["requests_per_second"], "p50_ms": phase["latency"]["p50"] / 1000,
        "p99_ms": phase["latency"]["p99"] / 1000, "mean_ms": round(phase["latency"]["mean"] / 1000, 3), "errors": phase["errors"],
        "http_versions": phase.get("http_versions"), "tcp_connections": phase.get("connections_opened"),
        "generator_cpu_max": (phase.get("generator") or {}).get("cpu_max"),
        "cpu_seconds": cpu(f"{work}/bench-{name}.time")})


raw, curl, h2 = bench("raw"), bench("curl"), bench("h2")
ratio = lambda a, b, key: round(a[key] / b[key], 3)
out = {
    "measured_at": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    "machine": {"cores": os.cpu_count(), "arch": platform.machine()}, "commit": commit, "command": "scripts/compare-tls.sh",
    "duration_seconds": duration, "http1": {"connections": connections, "wrk": wrk, "bench_raw": raw, "bench_curl": curl},
    "http2": {"tcp_connections": h2_connections, "streams_per_connection": streams, "h2load": h2load, "bench_http2": h2},
    "ratios": {
        "tls_raw_vs_wrk_rps": ratio(raw, wrk, "rps"), "tls_raw_vs_wrk_cpu_per_request": ratio(raw, wrk, "cpu_seconds_per_100k"),
        "tls_curl_vs_wrk_rps": ratio(curl, wrk, "rps"), "tls_curl_vs_wrk_cpu_per_request": ratio(curl, wrk, "cpu_seconds_per_100k"),
        "h2_vs_h2load_rps": ratio(h2, h2load, "rps"), "h2_vs_h2load_cpu_per_request": ratio(h2, h2load, "cpu_seconds_per_100k")},
    "goals": {"tls_raw_vs_wrk_rps_at_least": 0.8}}
json.dump(out, open("results/compare-tls.json", "w"), indent=2)

fmt = lambda v, f="{:.3f} ms": "–" if v is None else f.format(v)
row = lambda name, t: (f"| {name} | {t['requests']:,} | {t['rps']:,.0f} | {fmt(t.get('p50_ms'))} | {fmt(t.get('p99_ms'))} | {fmt(t['mean_ms'])} "
                       f"| {t['errors']:,} | {t['cpu_seconds']:.2f} s ({t['cpu_share_of_one_core']:.0%} of core 0) | {t['cpu_seconds_per_100k']:.3f} s |")
header = ["| generator | requests | req/s | p50 | p99 | mean | errors | CPU (user+sys) | CPU per 100,000 requests |", "|---|---|---|---|---|---|---|---|---|"]
r = out["ratios"]
md = "\n".join([
    "# The load generator over TLS and HTTP/2, against wrk and h2load", "",
    f"Measured {out['measured_at']} on {os.cpu_count()} cores ({platform.machine()}), commit {commit}, with `scripts/compare-tls.sh`: nginx",
    "(1 worker, core 1) serving a ~1 KB static JSON file over TLS 1.3 on loopback with a certificate the script makes; each generator",
    f"pinned to core 0 in turn, {duration} s each, closed model. The target's core is the bottleneck when a generator's CPU share",
    "stays below 100 % of core 0; a generator at ~100 % of its core is saturated itself.", "",
    f"## HTTP/1.1 over TLS, {connections} connections", "", *header,
    row("wrk -t1", wrk), row("happening-bench (raw engine: libcurl does the handshake, Happening frames HTTP/1.1)", raw),
    row("happening-bench --engine curl", curl), "",
    f"raw engine ÷ wrk: req/s {r['tls_raw_vs_wrk_rps']} (goal ≥ 0.8), CPU per request {r['tls_raw_vs_wrk_cpu_per_request']}; "
    f"curl engine ÷ wrk: req/s {r['tls_curl_vs_wrk_rps']}, CPU per request {r['tls_curl_vs_wrk_cpu_per_request']}.", "",
    f"## HTTP/2 over TLS, {h2_connections} TCP connections × {streams} streams", "", *header,
    row(f"h2load -t1 -c{h2_connections} -m{streams}", h2load),
    row(f"happening-bench --http2 --streams {streams} ({h2_connections * streams} connections)", h2), "",
    f"happening-bench ÷ h2load: req/s {r['h2_vs_h2load_rps']}, CPU per request {r['h2_vs_h2load_cpu_per_request']}. "
    f"The Bench's answers: {h2['http_versions']} over {h2['tcp_connections']} TCP connections. h2load prints no percentiles "
    "(its mean is shown).", ""])
open("results/compare-tls.md", "w").write(md)
print(md)
print(f"bench/wrk over TLS: req/s ratio {r['tls_raw_vs_wrk_rps']}; bench/h2load over HTTP/2: req/s ratio {r['h2_vs_h2load_rps']}")
