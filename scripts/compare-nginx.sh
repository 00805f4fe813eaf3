#!/usr/bin/env bash
# The server's request path against its physical limit, nginx answering the same patterns with the same bytes:
#   cached-get            keep-alive GET /api/events/:id, the Redis/near cache on (nginx: the same JSON as a file)
#   floor                 keep-alive GET /api/health/live, no work: the HTTP stack alone (nginx: the same body)
#   refused               keep-alive POST /api/bookings for a sold-out event → 422 (nginx: `return 422` of the body)
#   refused-new-connection  the same POST with `Connection: close`: a TCP connection per request
# Each server runs alone on core 1 (one nginx worker, no master; the server with EVENT_LOOPS=1), wrk on core 0.
# Per pattern and target: req/s from wrk and the target's CPU (user + system, all threads, from /proc/<pid>/stat)
# per request. ROUNDS rounds, each measuring every pattern on the server then on nginx; the report quotes the
# median of the rounds, CPU ratios first (machine-independent). Writes $OUT.{md,json,html} (results/server-vs-nginx).
#
#   scripts/compare-nginx.sh                          # 3 rounds, 50 connections, 8 s per measurement
#   ROUNDS=1 DURATION=3 SKIP_BUILD=1 scripts/compare-nginx.sh
#   INLINE_ANSWERS=off OUT=results/server-vs-nginx-router scripts/compare-nginx.sh   # every request through the router
set -euo pipefail
cd "$(dirname "$0")/.."
CONNECTIONS="${CONNECTIONS:-50}"; DURATION="${DURATION:-8}"; ROUNDS="${ROUNDS:-3}"
PORT="${PORT:-5096}"; NGINX_PORT="${NGINX_PORT:-58081}"
INLINE_ANSWERS="${INLINE_ANSWERS:-on}"; OUT="${OUT:-results/server-vs-nginx}"
. scripts/lib.sh
require_tool wrk wrk; require_tool nginx nginx-light; require_tool taskset util-linux; require_tool jq jq
services_up postgres redis rabbitmq
WORK="$PWD/.run/compare-nginx"; rm -rf "$WORK"; mkdir -p "$WORK/www/api/events" "$WORK/www/api/health" "$WORK/logs" "$WORK/out"
release_build "$WORK" happening-server happening-seed happening-bench
# One sold-out event (1 ticket, every request asks for 2) and USERS bench users' tokens: the refusals rotate through
# them, as a sale's buyers would (one user's requests would soon be over the booking rate limit: 429, not 422).
USERS="${USERS:-500}"
"$BIN"/happening-seed --events 0 --users 0 --bench-users "$USERS" --tokens-out "$WORK/tokens.jsonl" \
    --flash-sale-event tickets=1,price=499 --json --progress none >"$WORK/seed.json"
EVENT=$(jq -r .flash_sale_event.id "$WORK/seed.json")
TOKEN=$(head -1 "$WORK/tokens.jsonl" | jq -r .token)

cleanup() { stop_bg; }
trap cleanup EXIT
start_bg "$WORK/logs/server.log" env PORT="$PORT" CACHE=on CACHE_PREFIX="compare-nginx-$$:" LOG_LEVEL=error EVENT_LOOPS=1 \
    INLINE_ANSWERS="$INLINE_ANSWERS" taskset -c 1 "$BIN"/happening-server
SERVER_PID="${BG_PIDS[-1]}"
wait_healthy "http://127.0.0.1:$PORT/api/health"
# Another process answering on the port would be measured instead: the one started here must be alive.
kill -0 "$SERVER_PID" 2>/dev/null || { echo "== the server did not start: $(tail -3 "$WORK/logs/server.log")" >&2; exit 1; }
BODY="{\"event_id\":\"$EVENT\",\"ticket_count\":2}"
# What the server answers, kept as nginx's bytes: the cached event, the no-work body, the refusal.
curl -sf "http://127.0.0.1:$PORT/api/events/$EVENT" >/dev/null   # fills the cache
cache=$(curl -s -D - -o "$WORK/www/api/events/$EVENT" "http://127.0.0.1:$PORT/api/events/$EVENT" | tr -d '\r' \
    | awk -F': ' 'tolower($1)=="x-cache"{print $2}')
curl -sf -o "$WORK/www/api/health/live" "http://127.0.0.1:$PORT/api/health/live"
for _ in 1 2; do   # the first refusal asks Redis; later ones are answered from the server's sold-out memory
    status=$(curl -s -o "$WORK/refusal.json" -w '%{http_code}' -X POST -H "Authorization: Bearer $TOKEN" \
        -H 'Content-Type: application/json' -d "$BODY" "http://127.0.0.1:$PORT/api/bookings")
done
[ "$status" = 422 ] || { echo "== the sold-out booking was answered $status: $(cat "$WORK/refusal.json")" >&2; exit 1; }
echo "   event $EVENT: $(wc -c <"$WORK/www/api/events/$EVENT") bytes of JSON (X-Cache: $cache); refusal: $(cat "$WORK/refusal.json")"

REFUSAL=$(sed 's/\\/\\\\/g; s/"/\\"/g' "$WORK/refusal.json")
cat >"$WORK/nginx.conf" <<CONF
worker_processes 1;
master_process off;
daemon off;
pid $WORK/nginx.pid;
error_log $WORK/logs/nginx-error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 100000000;
    default_type application/json;
    server {
        listen 127.0.0.1:$NGINX_PORT;
        root $WORK/www;
        location = /api/bookings { return 422 "$REFUSAL"; }
    }
}
CONF
start_bg "$WORK/logs/nginx.log" taskset -c 1 nginx -c "$WORK/nginx.conf" -p "$WORK"
NGINX_PID="${BG_PIDS[-1]}"
wait_healthy "http://127.0.0.1:$NGINX_PORT/api/events/$EVENT" 10
kill -0 "$NGINX_PID" 2>/dev/null || { echo "== nginx did not start: $(tail -3 "$WORK/logs/nginx.log")" >&2; exit 1; }

jq -rs '"tokens = {" + (map("\"" + .token + "\"") | join(",")) + "}"' "$WORK/tokens.jsonl" >"$WORK/tokens.lua"
for close in keep-alive close; do
    cat "$WORK/tokens.lua" - >"$WORK/post-$close.lua" <<LUA
local body = '$BODY'
local sent = 0
request = function()
    sent = sent + 1
    return wrk.format("POST", "/api/bookings", {["Content-Type"] = "application/json", ["Connection"] = "$close",
        ["Authorization"] = "Bearer " .. tokens[sent % #tokens + 1]}, body)
end
LUA
done

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# measure ROUND TARGET PATTERN PID BASE_URL: one wrk run, the target's CPU ticks before and after.
measure() {
    local round="$1" target="$2" pattern="$3" pid="$4" base="$5" args=()
    case "$pattern" in
        cached-get) args=("$base/api/events/$EVENT") ;;
        floor) args=("$base/api/health/live") ;;
        refused) args=(-s "$WORK/post-keep-alive.lua" "$base/api/bookings") ;;
        refused-new-connection) args=(-s "$WORK/post-close.lua" "$base/api/bookings") ;;
    esac
    local out="$WORK/out/$round-$target-$pattern" before after
    before=$(cpu_ticks "$pid")
    taskset -c 0 wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency "${args[@]}" >"$out.wrk"
    after=$(cpu_ticks "$pid")
    echo "$before $after $(getconf CLK_TCK)" >"$out.cpu"
    printf '   round %s  %-6s %-24s %s\n' "$round" "$target" "$pattern" "$(grep 'Requests/sec' "$out.wrk")"
}

PATTERNS="cached-get floor refused refused-new-connection"
echo "== $ROUNDS rounds; each: wrk -t1 -c$CONNECTIONS -d${DURATION}s per pattern, the server then nginx"
for round in $(seq 1 "$ROUNDS"); do
    for pattern in $PATTERNS; do
        measure "$round" server "$pattern" "$SERVER_PID" "http://127.0.0.1:$PORT"
        measure "$round" nginx "$pattern" "$NGINX_PID" "http://127.0.0.1:$NGINX_PORT"
    done
done
"$BIN"/happening-bench report compare-nginx "$WORK" --connections "$CONNECTIONS" --duration "$DURATION" --rounds "$ROUNDS" --x-cache "$cache" \
    --commit "$(git rev-parse --short HEAD)" --inline-answers "$INLINE_ANSWERS" --out "$OUT"
