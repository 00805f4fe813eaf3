#!/usr/bin/env python3
"""How often `happening-bench diff` cries wolf: diffs of one build against itself, in every mode, from one A/A result.

usage: diff_false_alarms.py BENCH RESULT.json OUT_PREFIX COMMAND

RESULT.json holds N runs of one build (run --repeat N; N >= 100 for every mode). Each diff with --fail-on-regression 5%:
  one run a side, no calibration    runs 4k vs 4k+1, k < 20
  one run a side, calibrated        the same pairs, calibrated from runs 4k+2 and 4k+3 (interleaved with them), and
                                    from the last 20 runs (a later spell of the machine)
  two runs a side                   runs 4k, 4k+1 vs 4k+2, 4k+3, k < 20 (blocked: base first, then new, as CI runs them)
  five runs a side                  runs 10k..10k+4 vs 10k+5..10k+9
A diff is a false alarm when it calls any line (regressed or improved) or exits non-zero. Power: the five-a-side pairs
again, the new side's `detail` route p50 in the `latency` phase scaled by 1.10 second by second (a synthetic shift of
+10 % at this machine's real noise); counted when that line is called regressed.
Writes OUT_PREFIX.json and OUT_PREFIX.md.
"""
import copy, json, os, subprocess, sys, tempfile

bench, source, out, command = sys.argv[1:5]
result = json.load(open(source))
runs = result["runs"]
work = tempfile.mkdtemp(prefix="diff-alarms-")


def subset(indices, name, shift=None):
    part = copy.deepcopy(result)
    part["runs"] = [copy.deepcopy(runs[i]) for i in indices]
    if shift:
        phase_name, route, factor = shift
        for run in part["runs"]:
            for phase in run["phases"]:
                if phase["name"] != phase_name:
                    continue
                for point in phase["timeline"]:
                    for r in point.get("routes") or []:
                        if r["name"] == route:
                            r["p50_us"] = int(round(r["p50_us"] * factor))
    path = os.path.join(work, name + ".json")
    json.dump(part, open(path, "w"))
    return path


def diff(a, b, extra):
    directory = os.path.join(work, "d-" + os.path.basename(a) + "-" + os.path.basename(b))
    proc = subprocess.run([bench, "diff", a, b, "--fail-on-regression", "5%", "--out", directory] + extra, capture_output=True, text=True)
    report = json.load(open(os.path.join(directory, next(f for f in os.listdir(directory) if f.endswith(".json")))))
    called = [f"{l['phase']}/{l.get('route') or '*'} {l['metric']} {l['verdict']}" for l in report["lines"] if l["verdict"] in ("regressed", "improved")]
    return proc.returncode, called, report


def calibrate(indices, name):
    path = os.path.join(work, name + ".json")
    subprocess.run([bench, "calibrate", subset(indices, name + "-runs"), "--out", path], check=True, capture_output=True)
    return path


pairs = [([4 * k], [4 * k + 1]) for k in range(20)]
interleaved = calibrate([i for k in range(20) for i in (4 * k + 2, 4 * k + 3)], "calibration-interleaved")
later = calibrate(range(len(runs) - 20, len(runs)), "calibration-later")
modes = [
    ("one run a side, no calibration", pairs, ["--calibration", "none"]),
    ("one run a side, calibrated from runs interleaved with them", pairs, ["--calibration", interleaved]),
    ("one run a side, calibrated from the last 20 runs (a later spell)", pairs, ["--calibration", later]),
    ("two runs a side", [([4 * k, 4 * k + 1], [4 * k + 2, 4 * k + 3]) for k in range(20)], ["--calibration", "none"]),
    ("five runs a side", [(list(range(10 * k, 10 * k + 5)), list(range(10 * k + 5, 10 * k + 10))) for k in range(len(runs) // 10)], ["--calibration", "none"]),
]
summary = []
for name, pairs, extra in modes:
    alarms, failed, compared, examples = 0, 0, [], []
    for index, (a, b) in enumerate(pairs):
        code, called, report = diff(subset(a, f"{name[:3]}-a{index}"), subset(b, f"{name[:3]}-b{index}"), extra)
        compared.append(report["lines_compared"])
        if code != 0 or called:
            alarms += 1
            failed += code != 0
            examples.append({"diff": index, "base_runs": a, "new_runs": b, "exit": code, "called": called})
    summary.append({"mode": name, "diffs": len(pairs), "false_alarms": alarms, "failed_builds": failed,
                    "lines": len(report["lines"]), "lines_compared_median": sorted(compared)[len(compared) // 2], "alarms": examples})
    print(f"{name}: {alarms} false alarms in {len(pairs)} diffs ({failed} would fail a build)", flush=True)

power_pairs = modes[4][1]
power = []
for phase in ("latency", "throughput"):
    called, lines = 0, []
    for index, (a, b) in enumerate(power_pairs):
        code, _, report = diff(subset(a, f"pow-{phase}-a{index}"), subset(b, f"pow-{phase}-b{index}", (phase, "detail", 1.10)), ["--calibration", "none"])
        line = next(l for l in report["lines"] if l["phase"] == phase and l.get("route") == "detail" and l["metric"] == "p50")
        called += line["verdict"] == "regressed"
        lines.append({"change": line["change"], "verdict": line["verdict"]})
    power.append({"line": f"{phase} / detail p50", "diffs": len(power_pairs), "called_regressed": called, "lines": lines})
    print(f"power: +10 % on {phase} / detail p50, five runs a side: called in {called} of {len(power_pairs)}")
document = {"command": command, "source": os.path.basename(source), "runs": len(runs), "scenario": result["scenario"],
            "machine": result["machine"], "bench": result["versions"]["bench"], "modes": summary, "power": power}
json.dump(document, open(out + ".json", "w"), indent=1)
md = [f"# diff: false alarms on one build, in every mode", "",
      f"{len(runs)} runs of one build of `{result['scenario']}` in a row (`{command}`), bench {result['versions']['bench']}, "
      f"machine {result['machine']['hostname']} ({result['machine']['cores']} cores, {result['machine']['memory_gib']} GiB). "
      "Every diff with `--fail-on-regression 5%`; a false alarm is a diff that calls any line (regressed or improved) or exits non-zero. "
      "Calibrations come from other runs than the diffs they serve. Goal: at most 1 false alarm in 20 diffs in every mode.", "",
      "| mode | diffs | false alarms | would fail the build | lines per diff | lines compared (median) |", "|---|---|---|---|---|---|"]
for m in summary:
    md.append(f"| {m['mode']} | {m['diffs']} | {m['false_alarms']} | {m['failed_builds']} | {m['lines']} | {m['lines_compared_median']} |")
md += ["", "Power: five runs a side (the five-a-side pairs), the new side's p50 of one route scaled by 1.10 second by second — a synthetic "
       "shift at this machine's real run-to-run noise (`Tests/BenchTests/DiffTests.swift` makes a real one on a test server):", ""]
md += [f"- {p['line']}: called regressed in **{p['called_regressed']} of {p['diffs']}** diffs" for p in power] + [""]
for m in summary:
    for alarm in m["alarms"]:
        md.append(f"- {m['mode']}, diff {alarm['diff']} (runs {alarm['base_runs']} vs {alarm['new_runs']}): exit {alarm['exit']}; " + "; ".join(alarm["called"]))
open(out + ".md", "w").write("\n".join(md) + "\n")
