"""Writes results/fleet.{md,json} from make fleet's merged result and its shard results (results/fleet-priority-P.*
for a run with FLEET_GENERATOR_PRIORITY=P other than the default, realtime, so both can be read side by side)."""
import datetime
import glob
import json
import os
import platform
import sys

merged_path, work, users, tickets, commit = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
fd_limit = sys.argv[6] if len(sys.argv) > 6 else "?"
priority = os.environ.get("FLEET_GENERATOR_PRIORITY", "0")
threads = int(os.environ.get("FLEET_THREADS", "0")) or None
merged = json.load(open(merged_path))
run = merged["runs"][0]
phase = next(p for p in run["phases"] if p["recorded"])
ledger = run.get("ledger") or {}
shards = []
for path in sorted(glob.glob(f"{work}/shard-*/*.json")):
    part = json.load(open(path))
    mine = next(p for p in part["runs"][0]["phases"] if p["recorded"])
    memory = mine.get("memory") or {}
    shards.append({
        "shard": part["runs"][0]["shard"]["index"], "connections": mine["connections"], "requests": mine["requests"],
        "statuses": mine["statuses"], "first_sent_micros": mine.get("first_sent_micros"), "last_sent_micros": mine.get("last_sent_micros"),
        "p50_ms": mine["latency"]["p50"] / 1000, "p99_ms": mine["latency"]["p99"] / 1000,
        "rss_peak_bytes": memory.get("rss_peak_bytes"), "peak_per_connection_bytes": memory.get("peak_per_connection_bytes"),
        "added_per_connection_bytes": memory.get("added_per_connection_bytes"), "generator_cpu_max": (mine.get("generator") or {}).get("cpu_max")})
skew = phase.get("shard_start_skew_ms")
worst_memory = max((s["peak_per_connection_bytes"] or 0) for s in shards) if shards else None
out = {
    "measured_at": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), "commit": commit,
    "machine": {"cores": os.cpu_count(), "arch": platform.machine()}, "command": "make fleet (scripts/fleet.sh)",
    "users": users, "tickets": tickets, "shards": len(shards), "requests": phase["requests"], "statuses": phase["statuses"],
    "latency_ms": {k: phase["latency"][k] / 1000 for k in ("p50", "p99", "max")}, "start_skew_ms": skew,
    "ledger": {k: ledger.get(k) for k in ("total_tickets", "held", "available_tickets", "accepted", "decided", "oversold", "passed", "violations")},
    "memory_peak_per_connection_bytes_worst_shard": worst_memory, "descriptor_limit_per_process": fd_limit,
    "generator_priority": priority, "threads_per_shard": threads, "per_shard": shards, "passed": merged["passed"], "merged_report": merged_path,
    "goals": {"start_skew_ms_at_most": 5, "memory_per_connection_bytes_at_most": 16 * 1024, "ledger_holds": True}}
name = "results/fleet" if priority == "realtime" else f"results/fleet-priority-{priority}"
json.dump(out, open(f"{name}.json", "w"), indent=2)
kib = lambda b: "–" if b is None else f"{b / 1024:.1f} KiB"
mib = lambda b: "–" if b is None else f"{b / 1048576:.1f} MiB"
rows = [f"| {s['shard']} | {s['connections']:,} | {s['requests']:,} | {', '.join(f'{k}×{v:,}' for k, v in sorted(s['statuses'].items()))} "
        f"| {(s['first_sent_micros'] - min(x['first_sent_micros'] for x in shards)) / 1000:.2f} ms "
        f"| {(s['last_sent_micros'] - s['first_sent_micros']) / 1000:.1f} ms "
        f"| {s['p99_ms']:.1f} ms | {mib(s['rss_peak_bytes'])} | {kib(s['peak_per_connection_bytes'])} | {kib(s['added_per_connection_bytes'])} |"
        for s in shards]
md = "\n".join([
    "# The generator fleet, rehearsed on network-namespace hosts", "",
    f"Measured {out['measured_at']} on {os.cpu_count()} cores ({platform.machine()}), commit {commit}, with `make fleet`: six network",
    "namespaces on one bridge (HAProxy, HTTP mode, several processes on one SO_REUSEPORT port, in front of two release servers;",
    "PostgreSQL, Redis, RabbitMQ and three for-update workers; four generator hosts). A flash sale of",
    f"{users:,} users for {tickets} tickets: `happening-bench setup` once, then {len(shards)} shards (`--shard I/{len(shards)}`,",
    f"{len(shards) // 4} per generator host, {threads or 'default'} load loop each; a process may hold {fd_limit} descriptors here) with one",
    "`--start-at`, then `merge` (one ledger check over all shards). The generator hosts' processes ran "
    + ("real-time (SCHED_FIFO 1: a core whenever they have work, as on hosts of their own; FLEET_GENERATOR_PRIORITY=0 for "
       "equal footing with the server tier)." if priority == "realtime" else f"at nice {priority}."), "",
    f"**{'PASS' if merged['passed'] else 'FAIL'}**: {phase['requests']:,} requests ({', '.join(f'{k}×{v:,}' for k, v in sorted(phase['statuses'].items()))}); "
    f"start skew across shards **{skew:.2f} ms** (goal ≤ 5 ms); the Bench's resident memory at most "
    f"**{kib(worst_memory)} per open connection** (goal ≤ 16 KiB); ledger: {ledger.get('held')} of {ledger.get('total_tickets')} tickets held, "
    f"{ledger.get('accepted')} accepted, {ledger.get('decided')} decided, oversold {ledger.get('oversold')}.", "",
    "| shard | connections | requests | answers | first send after the earliest shard's | first to last send | p99 | peak RSS | RSS ÷ connections | added ÷ connections |",
    "|---|---|---|---|---|---|---|---|---|---|", *rows, "",
    f"The merged report: [{os.path.basename(merged_path)[:-5]}.md]({os.path.basename(merged_path)[:-5]}.md) (and `.html`, `.json`).", "",
    "Latency runs from the firing instant; every generator, server and service shares this machine's two cores, so the",
    f"latencies say how this machine copes with {users:,} simultaneous bookings, not how a cluster would. RSS ÷ connections is the",
    "whole process (its fixed part included) over its open connections; added ÷ connections is what the phase added.", ""])
open(f"{name}.md", "w").write(md)
print(md)
