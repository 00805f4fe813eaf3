#!/usr/bin/env python3
"""The report of scripts/compare-barrier.sh: a flash sale's intake (every buyer's booking at one instant) on the server
against nginx in the same run, round by round, the median, the server as multiples of nginx. Writes OUT.md and OUT.json.

    compare_barrier_report.py WORK ROUNDS USERS TICKETS COMMIT OUT
"""
import glob
import json
import os
import statistics
import sys

GOAL_P99_MS = 400


def phase(directory):
    """The intake phase of the one JSON report in `directory` (None when the run wrote none)."""
    found = sorted(glob.glob(os.path.join(directory, "*.json")))
    if not found:
        return None, None
    report = json.load(open(found[-1]))
    run = report["runs"][0]
    return report, (run["phases"][0], run.get("ledger"))


def figures(directory):
    report, found = phase(directory)
    if not found:
        return None
    intake, ledger = found
    latency = intake["latency"]
    cpu = intake.get("target_cpu") or {}
    generator = intake.get("generator") or {}
    return {
        "requests": intake["requests"],
        "errors": intake["errors"],
        "p50_ms": latency["p50"] / 1000,
        "p99_ms": latency["p99"] / 1000,
        "max_ms": latency["max"] / 1000,
        "cpu_us_per_request": cpu.get("per_request_us"),
        "generator_saturated": bool(generator.get("reasons")),
        "generator_reasons": generator.get("reasons", []),
        "passed": report.get("passed"),
        "oversold": (ledger or {}).get("oversold"),
        "machine": report.get("machine"),
    }


def median(rows, key):
    values = [row[key] for row in rows if row and row.get(key) is not None]
    return statistics.median(values) if values else None


def ratio(a, b):
    return round(a / b, 2) if a is not None and b else None


def main():
    work, rounds, users, tickets, commit, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6]
    server = [figures(os.path.join(work, "server", str(r))) for r in range(1, rounds + 1)]
    nginx = [figures(os.path.join(work, "nginx", str(r))) for r in range(1, rounds + 1)]
    machine = next((row["machine"] for row in server + nginx if row and row.get("machine")), {})
    medians = {
        side: {key: median(rows, key) for key in ("p50_ms", "p99_ms", "max_ms", "cpu_us_per_request")}
        for side, rows in (("server", server), ("nginx", nginx))
    }
    within_goal = [row is not None and row["p99_ms"] <= GOAL_P99_MS and row["errors"] == 0 for row in server]
    result = {
        "commit": commit,
        "machine": machine,
        "command": "scripts/compare-barrier.sh",
        "users": users,
        "tickets": tickets,
        "rounds": [{"round": i + 1, "server": s, "nginx": n} for i, (s, n) in enumerate(zip(server, nginx))],
        "median": medians,
        "server_vs_nginx": {
            "cpu_per_request": ratio(medians["server"]["cpu_us_per_request"], medians["nginx"]["cpu_us_per_request"]),
            "p99": ratio(medians["server"]["p99_ms"], medians["nginx"]["p99_ms"]),
            "p50": ratio(medians["server"]["p50_ms"], medians["nginx"]["p50_ms"]),
        },
        "goal": {"intake_p99_ms_at_most": GOAL_P99_MS, "rounds_within": sum(within_goal), "rounds": rounds},
    }
    json.dump(result, open(out + ".json", "w"), indent=2)

    def cell(value, unit=""):
        return "–" if value is None else f"{value:,.1f}{unit}"

    lines = [
        f"# A flash sale's intake against nginx: {users:,} buyers at one instant, {tickets} tickets",
        "",
        f"Commit `{commit}`, `scripts/compare-barrier.sh`, {machine.get('cores', '?')} cores / {machine.get('memory_gib', '?')} GiB "
        f"({machine.get('os', '?')}), release build. Server: `happening-bench gate scenarios/flash-sale.yaml` (two for-update "
        "workers, default flags; the ledger checked). nginx: two workers answering every booking with the server's 422 body. "
        "The Bench, the services and the workers share the same cores. Median of the rounds; CPU per request includes "
        "opening and closing each buyer's connection.",
        "",
        "| | server | nginx | server ÷ nginx |",
        "|---|---|---|---|",
        f"| CPU per request | {cell(medians['server']['cpu_us_per_request'], ' µs')} | {cell(medians['nginx']['cpu_us_per_request'], ' µs')} | "
        f"{cell(result['server_vs_nginx']['cpu_per_request'], '×')} |",
        f"| intake p50 | {cell(medians['server']['p50_ms'], ' ms')} | {cell(medians['nginx']['p50_ms'], ' ms')} | {cell(result['server_vs_nginx']['p50'], '×')} |",
        f"| intake p99 | {cell(medians['server']['p99_ms'], ' ms')} | {cell(medians['nginx']['p99_ms'], ' ms')} | {cell(result['server_vs_nginx']['p99'], '×')} |",
        "",
        f"Goal: intake p99 ≤ {GOAL_P99_MS} ms in every round — **{sum(within_goal)} of {rounds}**.",
        "",
        "| round | server p50 | server p99 | server CPU/req | ledger | nginx p50 | nginx p99 | nginx CPU/req | generator flagged |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for i, (s, n) in enumerate(zip(server, nginx)):
        flagged = ", ".join(f"{side}: {'; '.join(row['generator_reasons'])}" for side, row in (("server", s), ("nginx", n)) if row and row["generator_saturated"])
        ledger = "–" if not s else ("PASS" if s["passed"] else "FAIL") + (f", oversold {s['oversold']}" if s.get("oversold") is not None else "")
        lines.append(
            f"| {i + 1} | {cell(s and s['p50_ms'], ' ms')} | {cell(s and s['p99_ms'], ' ms')} | {cell(s and s['cpu_us_per_request'], ' µs')} | {ledger} | "
            f"{cell(n and n['p50_ms'], ' ms')} | {cell(n and n['p99_ms'], ' ms')} | {cell(n and n['cpu_us_per_request'], ' µs')} | {flagged or 'no'} |"
        )
    open(out + ".md", "w").write("\n".join(lines) + "\n")
    print("\n".join(lines[6:13]))
    print(f"report: {out}.md, {out}.json")


if __name__ == "__main__":
    main()
