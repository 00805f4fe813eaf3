#!/usr/bin/env python3
"""Summarises a `scripts/fuzz.sh` run for people (Markdown) and machines (JSON).

Reads, from the run's folder: each role's schemathesis log (operations tested, cases generated, passed,
failed), and the server's own Prometheus counters (`metrics.txt`: requests per route, method and status).
Lists every operation of openapi.yaml with how many requests the server answered for it and how they
ended (2xx / 4xx / 5xx), so a route the fuzzer never reached, or reached only with refusals, shows.

    fuzz_summary.py OUT_DIR openapi.yaml REQUESTS EXAMPLES PASSED ROLE...
"""
import json
import os
import platform
import re
import subprocess
import sys
from collections import defaultdict
from datetime import datetime, timezone

import yaml


def role_summary(log_path):
    """Operations tested and case counts from one schemathesis log."""
    try:
        text = open(log_path, encoding="utf-8", errors="replace").read()
    except OSError:
        return {"log": log_path, "missing": True}
    summary = {}
    tested = re.search(r"^\s*Tested:\s*(\d+)", text, re.M)
    selected = re.search(r"^\s*Selected:\s*(\d+)/(\d+)", text, re.M)
    cases = re.search(r"^\s*(\d+) generated(.*)$", text, re.M)
    summary["operations_tested"] = int(tested.group(1)) if tested else 0
    summary["operations_total"] = int(selected.group(2)) if selected else 0
    summary["cases_generated"] = int(cases.group(1)) if cases else 0
    for kind in ("passed", "failed", "skipped", "errored"):
        found = re.search(rf"(\d+) {kind}", cases.group(2)) if cases else None
        summary[f"cases_{kind}"] = int(found.group(1)) if found else 0
    summary["issues"] = sorted(set(re.findall(r"^\s*-?\s*(Server error|Undocumented HTTP status code|Response violates schema|"
                                              r"Undocumented Content-Type|Missing header[^\n]*)", text, re.M)))
    return summary


def route_counts(metrics_path):
    """(METHOD, route) -> {status class: count} from the server's counters."""
    counts = defaultdict(lambda: defaultdict(int))
    pattern = re.compile(r'^http_server_requests_total\{route="([^"]*)",method="([^"]*)",status="(\d)\d\d"\}\s+(\d+)')
    for line in open(metrics_path, encoding="utf-8"):
        match = pattern.match(line)
        if match:
            route, method, status_class, value = match.groups()
            counts[(method, route)][f"{status_class}xx"] += int(value)
    return counts


def main():
    out, spec_path, requests, examples, passed, *roles = sys.argv[1:]
    spec = yaml.safe_load(open(spec_path, encoding="utf-8"))
    counts = route_counts(f"{out}/metrics.txt")
    operations = []
    for path, item in spec.get("paths", {}).items():
        for method in ("get", "post", "put", "patch", "delete"):
            if method in item:
                seen = counts.get((method.upper(), path), {})
                operations.append({"method": method.upper(), "path": path, "requests": sum(seen.values()),
                                   **{k: seen.get(k, 0) for k in ("2xx", "3xx", "4xx", "5xx")}})
    per_role = {role: role_summary(f"{out}/schemathesis-{role}.log") for role in roles}
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    result = {
        # When the server's counters were read, i.e. when the last role finished.
        "finished_at": datetime.fromtimestamp(os.path.getmtime(f"{out}/metrics.txt"), timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": f"{platform.node()} ({os.cpu_count()} cores, {memory_gib:.0f} GiB, {platform.system()} {platform.release()})",
        "git": commit,
        "passed": passed == "true",
        "requests": int(requests),
        "server_errors": sum(op["5xx"] for op in operations),
        "examples_per_operation": int(examples),
        "roles": per_role,
        "operations": operations,
        "operations_never_requested": [f"{op['method']} {op['path']}" for op in operations if op["requests"] == 0],
        "operations_never_accepted": [f"{op['method']} {op['path']}" for op in operations if op["requests"] and op["2xx"] == 0],
    }
    json.dump(result, open(f"{out}/summary.json", "w"), indent=2)

    lines = [
        f"# make fuzz: {'PASS' if result['passed'] else 'FAIL'}",
        "",
        f"schemathesis against `openapi.yaml` as {', '.join(roles)}; {result['examples_per_operation']} cases per operation "
        f"and role (plus the coverage phase); checks: no 5xx, documented status codes, content types, headers and body "
        f"schemas. Finished {result['finished_at']} on {result['machine']}, git {result['git']}.",
        "",
        f"**{result['requests']:,} requests** answered by the server (its own `/metrics`), **{result['server_errors']} with a 5xx**.",
        "",
        "| role | operations tested | cases generated | passed | failed |",
        "|---|---|---|---|---|",
    ]
    for role, s in per_role.items():
        lines.append(f"| {role} | {s.get('operations_tested', 0)} / {s.get('operations_total', 0)} | {s.get('cases_generated', 0):,} | "
                     f"{s.get('cases_passed', 0):,} | {s.get('cases_failed', 0):,} |")
    lines += ["", "## Requests per operation (every role, as counted by the server)", "",
              "| operation | requests | 2xx | 4xx | 5xx |", "|---|---|---|---|---|"]
    for op in operations:
        lines.append(f"| `{op['method']} {op['path']}` | {op['requests']:,} | {op['2xx']:,} | {op['4xx']:,} | {op['5xx']:,} |")
    if result["operations_never_requested"]:
        lines += ["", "Never requested: " + ", ".join(f"`{o}`" for o in result["operations_never_requested"])]
    if result["operations_never_accepted"]:
        lines += ["", "Requested but never answered 2xx (every generated input was refused, or needs state the fuzzer "
                  "cannot create, such as a payment signed by the gateway): " +
                  ", ".join(f"`{o}`" for o in result["operations_never_accepted"])]
    open(f"{out}/summary.md", "w").write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
