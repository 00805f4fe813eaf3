#!/usr/bin/env bash
# The cached read against its physical limit: GET /api/events/:id from a release server with the Redis cache on,
# beside nginx serving the very same JSON bytes as a static file. Each server pinned to core 1 (one nginx worker;
# the server then runs one event loop), wrk pinned to core 0, same connections and duration. Also measured: the
# server's no-work route (GET /api/health/live), the floor of its HTTP stack, so the report shows how much of the
# gap to nginx is the cache and how much the stack. Writes results/cached-get-vs-nginx.{md,json}.
#
#   scripts/compare-nginx.sh                  # 50 connections, 10 s each
set -euo pipefail
cd "$(dirname "$0")/.."
CONNECTIONS="${CONNECTIONS:-50}"; DURATION="${DURATION:-10}"; PORT="${PORT:-5096}"; NGINX_PORT="${NGINX_PORT:-58081}"
. scripts/lib.sh
require_tool wrk wrk; require_tool nginx nginx-light
services_up postgres redis rabbitmq
WORK="$PWD/.run/compare-nginx"; rm -rf "$WORK"; mkdir -p "$WORK/www/api/events" "$WORK/logs"
release_build "$WORK" happening-server happening-seed
EVENT=$("$BIN"/happening-seed --events 0 --users 0 --flash-sale-event tickets=500,price=499 --json --progress none \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["flash_sale_event"]["id"])')

cleanup() {
    stop_bg
    [ -f "$WORK/nginx.pid" ] && kill "$(cat "$WORK/nginx.pid")" 2>/dev/null || true
}
trap cleanup EXIT
start_bg "$WORK/logs/server.log" env PORT="$PORT" CACHE=on CACHE_PREFIX="compare-nginx-$$:" LOG_LEVEL=error taskset -c 1 "$BIN"/happening-server
wait_healthy "http://127.0.0.1:$PORT/api/health"
URL="http://127.0.0.1:$PORT/api/events/$EVENT"
curl -sf "$URL" >/dev/null   # fills the cache
cache=$(curl -s -D - -o "$WORK/www/api/events/$EVENT" "$URL" | tr -d '\r' | awk -F': ' 'tolower($1)=="x-cache"{print $2}')
echo "   event $EVENT: $(wc -c <"$WORK/www/api/events/$EVENT") bytes of JSON, X-Cache: $cache"
cat >"$WORK/nginx.conf" <<CONF
worker_processes 1;
pid $WORK/nginx.pid;
error_log $WORK/logs/nginx-error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 100000000;
    default_type application/json;
    server { listen 127.0.0.1:$NGINX_PORT; root $WORK/www; }
}
CONF
taskset -c 1 nginx -c "$WORK/nginx.conf" -p "$WORK" -g 'daemon on;'
wait_healthy "http://127.0.0.1:$NGINX_PORT/api/events/$EVENT" 10

echo "== wrk -t1 -c$CONNECTIONS -d${DURATION}s: happening-server (cache on), its no-work route, then nginx"
taskset -c 0 wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency "$URL" >"$WORK/server.out"
taskset -c 0 wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency "http://127.0.0.1:$PORT/api/health/live" >"$WORK/live.out"
taskset -c 0 wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency "http://127.0.0.1:$NGINX_PORT/api/events/$EVENT" >"$WORK/nginx.out"

mkdir -p results
python3 - "$WORK" "$CONNECTIONS" "$DURATION" "$cache" <<'PY'
import datetime, json, os, re, sys
work, connections, duration, cache = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
def figures(path):
    text = open(path).read()
    def ms(label):
        value, unit = re.match(r"([\d.]+)(us|ms|s)", re.search(rf"\s{label}%\s+(\S+)", text).group(1)).groups()
        return float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1)), "p50_ms": ms("50"), "p99_ms": ms("99"),
            "non_2xx": int(errors.group(1)) if errors else 0}
server, live, nginx = figures(f"{work}/server.out"), figures(f"{work}/live.out"), figures(f"{work}/nginx.out")
ratio = round(server["rps"] / nginx["rps"], 3)
floor_ratio = round(live["rps"] / nginx["rps"], 3)
out = {"measured_at": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), "command": "scripts/compare-nginx.sh",
       "cores": os.cpu_count(), "connections": connections, "duration_seconds": duration, "x_cache": cache,
       "server": server, "server_no_work_route": live, "nginx": nginx, "ratio_rps": ratio,
       "no_work_route_ratio_rps": floor_ratio, "cached_vs_no_work_route": round(server["rps"] / live["rps"], 3), "goal_at_least": 0.5}
json.dump(out, open("results/cached-get-vs-nginx.json", "w"), indent=2)
md = "\n".join(["# Cached GET /api/events/:id against nginx", "",
    f"Measured {out['measured_at']} on {os.cpu_count()} cores with `scripts/compare-nginx.sh`: each server pinned to core 1, wrk -t1 -c{connections}",
    f"-d{duration}s pinned to core 0, the same JSON bytes (X-Cache: {cache} on the server).", "",
    "| server | req/s | p50 | p99 | non-2xx |", "|---|---|---|---|---|",
    f"| happening-server (cache on) | {server['rps']:,.0f} | {server['p50_ms']:.3f} ms | {server['p99_ms']:.3f} ms | {server['non_2xx']} |",
    f"| happening-server, `GET /api/health/live` (no work: the stack's floor) | {live['rps']:,.0f} | {live['p50_ms']:.3f} ms | {live['p99_ms']:.3f} ms | {live['non_2xx']} |",
    f"| nginx (static file, 1 worker) | {nginx['rps']:,.0f} | {nginx['p50_ms']:.3f} ms | {nginx['p99_ms']:.3f} ms | {nginx['non_2xx']} |", "",
    f"server/nginx: req/s ratio {ratio} (goal ≥ 0.5). The same server's no-work route reaches {floor_ratio} of nginx;",
    f"the cached read runs at {out['cached_vs_no_work_route']} of that floor.", ""])
open("results/cached-get-vs-nginx.md", "w").write(md)
print(md)
PY
