"""Writes results/server-vs-nginx.{md,json,html} from scripts/compare-nginx.sh's runs: per pattern and target, wrk's
figures and the target's CPU per request; the median of the rounds; CPU ratios first, then req/s ratios."""
import datetime
import json
import os
import platform
import statistics
import sys

sys.path.insert(0, "scripts")
from generator_figures import wrk  # noqa: E402

work, connections, duration, rounds, cache, commit, inline, out_prefix = (
    sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6], sys.argv[7], sys.argv[8])
PATTERNS = {
    "cached-get": "keep-alive GET /api/events/:id (cache on; nginx: the same bytes from a file)",
    "floor": "keep-alive GET /api/health/live (no work: the stack's floor; nginx: the same body)",
    "refused": "keep-alive POST /api/bookings, sold out → 422 (nginx: return 422 with the same body)",
    "refused-new-connection": "the same POST on a new connection per request (Connection: close)",
}
# The goals: CPU per request ≤ × nginx's, req/s ≥ × nginx's.
CPU_GOALS = {"cached-get": 2.5, "refused": 4.0, "refused-new-connection": 3.0}
RPS_GOALS = {"cached-get": 0.5, "floor": 0.6}
EXPECTED = {"cached-get": 200, "floor": 200, "refused": 422, "refused-new-connection": 422}


def one(round_, target, pattern):
    path = f"{work}/out/{round_}-{target}-{pattern}"
    figures = wrk(f"{path}.wrk")
    before, after, hz = (int(x) for x in open(f"{path}.cpu").read().split())
    figures["cpu_seconds"] = (after - before) / hz
    figures["cpu_us_per_request"] = round(figures["cpu_seconds"] / max(1, figures["requests"]) * 1e6, 2)
    # Every refused answer is a 422, which wrk counts as non-2xx: what matters is that nothing else came back.
    figures["unexpected_answers"] = figures["errors"] if EXPECTED[pattern] == 200 else max(0, figures["requests"] - figures["errors"])
    return figures


def median_of(runs, key):
    return round(statistics.median(run[key] for run in runs), 3)


patterns = {}
for pattern, description in PATTERNS.items():
    entry = {"description": description, "expected_status": EXPECTED[pattern]}
    for target in ("server", "nginx"):
        runs = [one(r, target, pattern) for r in range(1, rounds + 1)]
        entry[target] = {"runs": runs, "rps": median_of(runs, "rps"), "cpu_us_per_request": median_of(runs, "cpu_us_per_request"),
                         "p99_ms": median_of(runs, "p99_ms"), "unexpected_answers": sum(r["unexpected_answers"] for r in runs),
                         "socket_errors": sum(r["socket_errors"] for r in runs)}
    entry["cpu_ratio"] = round(entry["server"]["cpu_us_per_request"] / entry["nginx"]["cpu_us_per_request"], 2)
    entry["rps_ratio"] = round(entry["server"]["rps"] / entry["nginx"]["rps"], 3)
    entry["cpu_goal_at_most"] = CPU_GOALS.get(pattern)
    entry["rps_goal_at_least"] = RPS_GOALS.get(pattern)
    entry["cpu_goal_met"] = None if pattern not in CPU_GOALS else entry["cpu_ratio"] <= CPU_GOALS[pattern]
    entry["rps_goal_met"] = None if pattern not in RPS_GOALS else entry["rps_ratio"] >= RPS_GOALS[pattern]
    patterns[pattern] = entry

measured = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
out = {"measured_at": measured, "command": "scripts/compare-nginx.sh", "commit": commit, "machine": f"{platform.node()}, {os.cpu_count()} cores",
       "placement": "each target alone on core 1 (server EVENT_LOOPS=1, nginx one worker without master), wrk -t1 on core 0",
       "connections": connections, "duration_seconds": duration, "rounds": rounds, "statistic": "median of the rounds",
       "x_cache": cache, "inline_answers": inline, "patterns": patterns}
os.makedirs(os.path.dirname(out_prefix) or ".", exist_ok=True)
json.dump(out, open(f"{out_prefix}.json", "w"), indent=2)


def mark(met):
    return "" if met is None else (" ✓" if met else " ✗")


rows = []
for pattern, entry in patterns.items():
    server, nginx = entry["server"], entry["nginx"]
    cpu_goal = f"≤ {entry['cpu_goal_at_most']}×" if entry["cpu_goal_at_most"] else "—"
    rps_goal = f"≥ {entry['rps_goal_at_least']}×" if entry["rps_goal_at_least"] else "—"
    rows.append(f"| {pattern} | **{entry['cpu_ratio']}×**{mark(entry['cpu_goal_met'])} ({cpu_goal}) | {server['cpu_us_per_request']:.1f} | "
                f"{nginx['cpu_us_per_request']:.1f} | {entry['rps_ratio']}×{mark(entry['rps_goal_met'])} ({rps_goal}) | "
                f"{server['rps']:,.0f} | {nginx['rps']:,.0f} | {server['p99_ms']:.2f} / {nginx['p99_ms']:.2f} | "
                f"{server['unexpected_answers'] + server['socket_errors']} / {nginx['unexpected_answers'] + nginx['socket_errors']} |")
md = "\n".join([
    "# The server's request path against nginx", "",
    f"Measured {measured} at commit `{commit}` on {out['machine']} with `scripts/compare-nginx.sh`: {out['placement']},",
    f"-c{connections}, {duration} s per measurement, {rounds} rounds (each pattern on the server, then on nginx); the median of the rounds.",
    f"CPU is the target's user + system time (every thread) from `/proc/<pid>/stat` over the run, divided by its requests. X-Cache: {cache};",
    f"the server's `INLINE_ANSWERS={inline}`.", "",
    "| pattern | CPU × nginx (goal) | server CPU µs/req | nginx CPU µs/req | req/s × nginx (goal) | server req/s | nginx req/s | p99 ms server / nginx | unexpected answers + socket errors |",
    "|---|---|---|---|---|---|---|---|---|", *rows, "",
    *[f"- **{p}**: {e['description']}" for p, e in patterns.items()], ""])
open(f"{out_prefix}.md", "w").write(md)


def bars(key, unit, title):
    """An SVG bar chart of `key`, server beside nginx, per pattern."""
    width, row, left = 900, 46, 190
    top = max(max(e["server"][key], e["nginx"][key]) for e in patterns.values()) or 1
    parts = [f'<svg width="{width}" height="{row * len(patterns) + 40}" role="img"><title>{title}</title>']
    for i, (pattern, entry) in enumerate(patterns.items()):
        y = 20 + i * row
        parts.append(f'<text x="0" y="{y + 16}" font-size="13">{pattern}</text>')
        for j, (target, colour) in enumerate((("server", "#3b6fb6"), ("nginx", "#8a8a8a"))):
            value = entry[target][key]
            w = max(1, (width - left - 200) * value / top)
            parts.append(f'<rect x="{left}" y="{y + j * 18}" width="{w:.0f}" height="15" fill="{colour}"/>')
            parts.append(f'<text x="{left + w + 6:.0f}" y="{y + j * 18 + 12}" font-size="12">{target} {value:,.1f} {unit}</text>')
    return "".join(parts) + "</svg>"


table = md.split("\n\n", 2)[2].split("\n\n")[0]
html_rows = "".join("<tr>" + "".join(f"<td>{c.strip()}</td>" for c in line.strip("|").split("|")) + "</tr>"
                    for line in table.splitlines()[2:])
head = "".join(f"<th>{c.strip()}</th>" for c in table.splitlines()[0].strip("|").split("|"))
html = f"""<!doctype html><html><head><meta charset="utf-8"><title>Server vs nginx</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:1100px}}table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:4px 8px;font-size:13px}}</style></head>
<body><h1>The server's request path against nginx</h1>
<p>Commit <code>{commit}</code>, {out['machine']}, {measured}; {out['placement']}; -c{connections}, {duration} s, median of {rounds} rounds; INLINE_ANSWERS={inline}.</p>
<table><tr>{head}</tr>{html_rows.replace('**', '')}</table>
<h2>CPU per request (lower is better)</h2>{bars('cpu_us_per_request', 'µs', 'CPU per request')}
<h2>Requests per second (higher is better)</h2>{bars('rps', 'req/s', 'Requests per second')}
</body></html>"""
open(f"{out_prefix}.html", "w").write(html)
print(md)
