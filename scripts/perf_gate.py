"""The perf gate's verdicts: this build's rounds against the base's, as ratios to nginx measured in the same round.

usage: perf_gate.py BASE.json NOW.json TOLERANCE_PERCENT OUT STRICT
BASE is {"runs": [compare-nginx result, ...]} (runs of the base build, in different sittings); NOW is one
compare-nginx.sh result. Per pattern, two measures: the server's CPU per request over nginx's (lower is better) and
its req/s over nginx's (higher is better). Rounds of one run share the machine's mood of the moment, so the base's runs
also measure how far two sittings of the same build drift apart (A/A): the tolerance of a measure is the larger of
TOLERANCE and twice that drift. A measure regressed when every round of NOW is worse than every round of the base and
the medians differ by more than its tolerance; improved the same way the other way.
Writes OUT.md and OUT.json; exits 1 only when STRICT is 1 and something regressed.
"""
import json
import statistics
import sys


def rounds(result, pattern, measure):
    """Per round: server / nginx for that measure (runs are paired by round)."""
    sides = result["patterns"][pattern]
    ratios = []
    for server, nginx in zip(sides["server"]["runs"], sides["nginx"]["runs"]):
        key = "cpu_us_per_request" if measure == "cpu" else "rps"
        if server.get(key) and nginx.get(key):
            ratios.append(server[key] / nginx[key])
    return ratios


def drift(base_runs, pattern, measure):
    """How far the medians of the base's runs lie apart, relative to their median (0 with one run)."""
    medians = [statistics.median(r) for r in (rounds(run, pattern, measure) for run in base_runs) if r]
    if len(medians) < 2:
        return 0.0
    return (max(medians) - min(medians)) / statistics.median(medians)


def verdict(base, now, lower_is_better, tolerance):
    if not base or not now:
        return "no data"
    change = statistics.median(now) / statistics.median(base) - 1
    worse = (min(now) > max(base)) if lower_is_better else (max(now) < min(base))
    better = (max(now) < min(base)) if lower_is_better else (min(now) > max(base))
    beyond = abs(change) > tolerance
    if worse and beyond:
        return "regressed"
    if better and beyond:
        return "improved"
    return "same"


def main():
    base_path, now_path, tolerance, out, strict = sys.argv[1], sys.argv[2], float(sys.argv[3]) / 100, sys.argv[4], sys.argv[5] == "1"
    base_runs, now = json.load(open(base_path))["runs"], json.load(open(now_path))
    base = base_runs[0]
    rows = []
    for pattern in now["patterns"]:
        if any(pattern not in run["patterns"] for run in base_runs):
            continue
        for measure, lower in (("cpu", True), ("rps", False)):
            b = [x for run in base_runs for x in rounds(run, pattern, measure)]
            n = rounds(now, pattern, measure)
            apart = drift(base_runs, pattern, measure)
            allowed = max(tolerance, 2 * apart)
            rows.append({
                "pattern": pattern,
                "measure": "CPU µs/req × nginx" if measure == "cpu" else "req/s × nginx",
                "lower_is_better": lower,
                "base_rounds": [round(x, 3) for x in b],
                "now_rounds": [round(x, 3) for x in n],
                "base_median": round(statistics.median(b), 3) if b else None,
                "now_median": round(statistics.median(n), 3) if n else None,
                "change_percent": round((statistics.median(n) / statistics.median(b) - 1) * 100, 1) if b and n else None,
                "base_drift_percent": round(apart * 100, 1),
                "tolerance_percent": round(allowed * 100, 1),
                "verdict": verdict(b, n, lower, allowed),
            })
    regressed = [r for r in rows if r["verdict"] == "regressed"]
    same_machine = base.get("machine") == now.get("machine")
    summary = {
        "base": {"commit": base.get("commit"), "measured_at": [run.get("measured_at") for run in base_runs], "machine": base.get("machine"),
                 "runs": len(base_runs)},
        "now": {"commit": now.get("commit"), "measured_at": now.get("measured_at"), "machine": now.get("machine")},
        "tolerance_percent": tolerance * 100,
        "rule": "every round worse than every base round, medians apart by more than the tolerance (the larger of the floor and twice the drift between the base's runs)",
        "same_machine": same_machine, "rows": rows, "regressed": len(regressed), "strict": strict,
    }
    with open(out + ".json", "w") as f:
        json.dump(summary, f, indent=2)
    lines = [f"# Perf gate: {now.get('commit')} against the base {base.get('commit')}", "",
             f"Base: {len(base_runs)} run(s) of {base.get('commit')} ({', '.join(run.get('measured_at', '?') for run in base_runs)}) on {base.get('machine')}; "
             f"this run {now.get('measured_at')} on {now.get('machine')}"
             + ("" if same_machine else " — **another machine**: ratios to nginx carry over only roughly") + ".",
             f"Command: `scripts/perf-gate.sh` (compare-nginx.sh, {len(rows and rows[0]['now_rounds'])} rounds). Rule: {summary['rule']}; floor {tolerance * 100:.0f} %.", "",
             "| pattern | measure | base median | this build | change | base drift (A/A) | tolerance | base rounds | this build's rounds | verdict |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['pattern']} | {r['measure']} | {r['base_median']} | {r['now_median']} | {r['change_percent']:+.1f} % | "
                     f"{r['base_drift_percent']} % | {r['tolerance_percent']} % | "
                     f"{', '.join(map(str, r['base_rounds']))} | {', '.join(map(str, r['now_rounds']))} | {r['verdict']} |")
    with open(out + ".md", "w") as f:
        f.write("\n".join(lines) + "\n")
    for r in rows:
        mark = "⚠ " if r["verdict"] == "regressed" else "  "
        print(f"{mark}{r['pattern']:<24} {r['measure']:<20} base {r['base_median']}  now {r['now_median']}  ({r['change_percent']:+.1f} %, "
              f"tolerance {r['tolerance_percent']} %)  {r['verdict']}")
    if regressed:
        print(f"== perf gate: WARNING: {len(regressed)} certain regression(s) (report: {out}.md)")
    else:
        print(f"== perf gate: no certain regression (report: {out}.md)")
    if len(base_runs) < 2:
        print("== perf gate: the base has one run: no measure of the drift between sittings yet (ACCEPT=add adds one)")
    sys.exit(1 if strict and regressed else 0)


main()
