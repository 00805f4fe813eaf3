"""What the generator comparisons read back (compare-wrk.sh, compare_tls_report.py): /usr/bin/time's CPU seconds,
wrk's latency text, wrk's summary."""
import re


def cpu(path):
    """User + system seconds from `/usr/bin/time -f "%U %S"`."""
    user, system = open(path).read().split()[-2:]
    return float(user) + float(system)


def ms(text):
    """`812.00us`, `1.20ms`, `2.1s` in milliseconds."""
    value, unit = re.match(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]


def wrk(out_path, time_path=None):
    """wrk --latency's requests, req/s, mean, p50, p99, non-2xx answers, socket errors, and its CPU seconds (when
    timed)."""
    out = open(out_path).read()
    return {"requests": int(re.search(r"(\d+) requests in", out).group(1)),
            "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
            "p50_ms": ms(re.search(r"\s50%\s+(\S+)", out).group(1)),
            "p99_ms": ms(re.search(r"\s99%\s+(\S+)", out).group(1)),
            "mean_ms": ms(re.search(r"Latency\s+(\S+)", out).group(1)),
            "errors": sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", out)),
            "socket_errors": sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out)),
            "cpu_seconds": cpu(time_path) if time_path else None}
