"""Prints the `make demo` summary table and writes results/demo-summary.{md,json} from the Bench's result files.

usage: demo_summary.py SECONDS HOMEPAGE.json STRATEGY=FLASH-SALE.json ... [drain=DRAIN.json] [day=FLASH-SALE-DAY.json]
                       [chaos=FLASH-SALE-CHAOS.json]
"""
import json
import os
import sys


def load(path):
    try:
        return json.load(open(path))
    except (OSError, ValueError):
        return None


def ms(micros):
    return f"{micros / 1000:.1f} ms" if micros < 1_000_000 else f"{micros / 1_000_000:.2f} s"


seconds, homepage_path = int(sys.argv[1]), sys.argv[2]
flash_paths = [a for a in sys.argv[3:] if not a.startswith(("chaos=", "day=", "drain="))]
drain_path = next((a.partition("=")[2] for a in sys.argv[3:] if a.startswith("drain=")), None)
chaos_path = next((a.partition("=")[2] for a in sys.argv[3:] if a.startswith("chaos=")), None)
day_path = next((a.partition("=")[2] for a in sys.argv[3:] if a.startswith("day=")), None)
rows, summary = [], {"seconds_after_build": seconds, "flash_sales": [], "drain": None, "homepage": None, "flash_sale_day": None, "chaos": None}
lines = ["# make demo", "", "| worker strategy | verdict | held / total | accepted | intake p99 | decision p99 | decided/s (the sale's pace) |",
         "|---|---|---|---|---|---|---|"]
for item in flash_paths:
    strategy, _, path = item.partition("=")
    result = load(path)
    if not result:
        lines.append(f"| {strategy} | FAILED TO RUN | | | | | |")
        continue
    run = result["runs"][0]
    intake = next(p for p in run["phases"] if p["name"] == "intake")
    ledger = run.get("ledger") or {}
    decision = ledger.get("decision_latency") or {}
    entry = {"strategy": strategy, "report": path, "passed": result["passed"], "held": ledger.get("held"), "total": ledger.get("total_tickets"),
             "accepted": ledger.get("accepted"), "intake_p99_us": intake["latency"]["p99"], "decision_p99_us": decision.get("p99"),
             "decided_per_second": ledger.get("decided_per_second"), "failures": result.get("thresholds")}
    summary["flash_sales"].append(entry)
    lines.append(f"| {strategy} | {'PASS' if result['passed'] else 'FAIL'} | {ledger.get('held')} / {ledger.get('total_tickets')} | "
                 f"{ledger.get('accepted')} | {ms(intake['latency']['p99'])} | {ms(decision['p99']) if decision else '–'} | "
                 f"{ledger.get('decided_per_second') or '–'} |")
drain = load(drain_path) if drain_path else None
if drain:
    # The gate admits only the tickets, so a sale decides 100 bookings at the sale's pace: a full queue shows each
    # strategy's own rate, beside pgbench running the same transaction on one row of the same PostgreSQL.
    by = {(r["strategy"], r["events"]): r for r in drain["runs"]}
    tps = drain["pgbench_tps"]
    lines += ["", f"| a full queue drained ({drain['jobs_per_run']:,} jobs) | one hot event, decided/s | × pgbench hot row | 50 events, decided/s | ledger |",
              "|---|---|---|---|---|"]
    for strategy in dict.fromkeys(r["strategy"] for r in drain["runs"]):
        hot, spread = by.get((strategy, "hot"), {}), by.get((strategy, "spread"), {})
        ledgers = {hot.get("ledger"), spread.get("ledger")} - {None}
        lines.append(f"| {strategy} | {hot.get('decided_per_second', '–'):,} | {hot.get('times_pgbench', '–')} | "
                     f"{spread.get('decided_per_second', '–'):,} | {', '.join(sorted(ledgers))} |")
    lines += ["", f"pgbench, the same lock + update + insert on one row: {tps:,} TPS"]
    summary["drain"] = {"report": drain_path, "pgbench_tps": tps, "runs": drain["runs"]}
elif drain_path:
    lines += ["", "queue drain: FAILED TO RUN"]
home = load(homepage_path) if homepage_path else None
if home:
    lines += ["", "| homepage | req/s (closed) | p50 | p99 | p99 at a steady rate | cache hits |", "|---|---|---|---|---|---|"]
    for run in home["runs"]:
        phases = {p["name"]: p for p in run["phases"]}
        t, l = phases.get("throughput"), phases.get("latency")
        hits = t["cache_hits"] / max(1, t["cache_hits"] + t["cache_misses"])
        lines.append(f"| {run['label']} | {t['requests_per_second']:,.0f} | {ms(t['latency']['p50'])} | {ms(t['latency']['p99'])} | "
                     f"{ms(l['latency']['p99'])} | {hits:.0%} |")
    ratio = (home.get("ratios") or {}).get("throughput.requests_per_second")
    lines += ["", f"cache on ÷ cache off throughput: **{ratio}×**"]
    summary["homepage"] = {"report": homepage_path, "ratios": home.get("ratios"), "passed": home["passed"]}
day = load(day_path) if day_path else None
if day:
    # The browse lane before, during and after the sale (the windows the Bench builds from every request's sample).
    run = day["runs"][0]
    windows = {w["name"]: w for w in run.get("windows") or []}
    sale = next((p for p in run["phases"] if p.get("lane") == "sale"), None)
    lines += ["", "| flash-sale day: browse lane | requests | req/s | p50 | p99 | max | cache hits | late starts |", "|---|---|---|---|---|---|---|---|"]
    rows = []
    for label, name in [("before the sale", f"browse@before-{sale['name']}" if sale else ""), ("during the sale", f"browse@{sale['name']}" if sale else ""),
                        ("after the sale", f"browse@after-{sale['name']}" if sale else ""), ("whole run", "browse")]:
        w = windows.get(name)
        if not w:
            continue
        hits = w["cache_hits"] / max(1, w["cache_hits"] + w["cache_misses"])
        rows.append({"window": name, "p50_us": w["latency"]["p50"], "p99_us": w["latency"]["p99"], "max_us": w["latency"]["max"],
                     "requests": w["requests"], "rps": w["requests_per_second"], "cache_hit_ratio": round(hits, 4), "late": w["late"]})
        lines.append(f"| {label} | {w['requests']:,} | {w['requests_per_second']:,.0f} | {ms(w['latency']['p50'])} | {ms(w['latency']['p99'])} | "
                     f"{ms(w['latency']['max'])} | {hits:.0%} | {w['late']:,} |")
    ledger = run.get("ledger") or {}
    failed = [t["expression"] for t in day.get("thresholds", []) if not t["passed"]]
    lines += ["", f"flash-sale day: {'PASS' if day['passed'] else 'FAIL'}; sale ledger held {ledger.get('held')} / {ledger.get('total_tickets')}, "
              f"oversold {ledger.get('oversold')}" + (f"; failing: {', '.join(failed)}" if failed else "")]
    summary["flash_sale_day"] = {"report": day_path, "passed": day["passed"], "browse": rows, "failing_thresholds": failed}
elif day_path:
    lines += ["", "flash-sale day: FAILED TO RUN"]
chaos = load(chaos_path) if chaos_path else None
if chaos:
    run = chaos["runs"][0]
    ledger = run.get("ledger") or {}
    statuses = {p["name"]: p.get("statuses", {}) for p in run["phases"]}
    faults = ", ".join(f"{f['action']} at {f['started_at']:.1f} s{'' if f['ok'] else ' (FAILED)'}" for f in run.get("faults") or [])
    lines += ["", "| chaos flash sale | verdict | held / total | accepted (202) | decided | oversold | 503 during the outages | errors after recovery |",
              "|---|---|---|---|---|---|---|---|"]
    recovered = next((p for p in run["phases"] if p["name"] == "recovered"), {})
    lines.append(f"| 3 workers | {'PASS' if chaos['passed'] else 'FAIL'} | {ledger.get('held')} / {ledger.get('total_tickets')} | {ledger.get('accepted')} | "
                 f"{ledger.get('decided')} | {ledger.get('oversold')} | {statuses.get('outage', {}).get('503', 0)} | {recovered.get('errors', '–')} |")
    lines += ["", f"faults: {faults}"]
    summary["chaos"] = {"report": chaos_path, "passed": chaos["passed"], "ledger": ledger, "faults": run.get("faults")}
elif chaos_path:
    lines += ["", "chaos flash sale: FAILED TO RUN"]
lines += ["", f"{seconds} s after the build."]
text = "\n".join(lines)
print(text)
open("results/demo-summary.md", "w").write(text + "\n")
json.dump(summary, open("results/demo-summary.json", "w"), indent=2)
