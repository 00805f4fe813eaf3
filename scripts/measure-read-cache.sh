#!/usr/bin/env bash
# Measures GET /api/events/public/upcoming (the homepage) on a release server, with the Redis cache on
# and off, using wrk (bounded: DURATION seconds per run). Writes results/read-cache.{md,json}.
# Until happening-bench lands this is the project's read-throughput figure.
#
#   scripts/measure-read-cache.sh            # 2,000 events, 50 connections, 10 s per run
#   EVENTS=5000 CONNECTIONS=100 DURATION=20 scripts/measure-read-cache.sh
set -euo pipefail
cd "$(dirname "$0")/.."
EVENTS="${EVENTS:-2000}"; CONNECTIONS="${CONNECTIONS:-50}"; DURATION="${DURATION:-10}"; PORT="${PORT:-5099}"
command -v wrk >/dev/null || { echo "wrk is needed (apt-get install wrk)" >&2; exit 1; }
bash scripts/services.sh up postgres redis rabbitmq >/dev/null
. .run/env
[ -x .build/release/happening-server ] || swift build -c release --product happening-server

echo "== seeding $EVENTS approved upcoming events (tagged 'measure-read-cache')"
psql "$DATABASE_URL" -q -v ON_ERROR_STOP=1 <<SQL
INSERT INTO users (email, password_hash, name, role) VALUES ('measure-host@happening.test', 'x', 'Measure Host', 'admin')
ON CONFLICT ((lower(email))) DO NOTHING;
DELETE FROM events WHERE title LIKE 'measure-read-cache %';
INSERT INTO events (created_by, title, description, date_time, venue, total_tickets, available_tickets, price, category,
                    approval_status, latitude, longitude)
SELECT u.id, 'measure-read-cache ' || g, 'A seeded event for the read-cache measurement', now() + (g || ' hours')::interval,
       'Hall ' || g, 500, 500, 499.00 + (g % 7), (enum_range(NULL::event_category))[1 + g % 7], 'approved',
       8 + (g * 7919 % 2800) / 100.0, 68 + (g * 104729 % 2900) / 100.0
FROM generate_series(1, $EVENTS) g, users u WHERE u.email = 'measure-host@happening.test';
ANALYZE events;
SQL

run() {  # $1 = cache on|off
    CACHE="$1" PORT="$PORT" LOG_LEVEL=error CACHE_PREFIX="measure-$1-$$:" .build/release/happening-server >/tmp/happening-measure.log 2>&1 &
    local pid=$!
    for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/api/health" >/dev/null && break; sleep 0.1; done
    curl -s -o /dev/null "http://127.0.0.1:$PORT/api/events/public/upcoming"   # warm the cache entry
    local header; header=$(curl -s -D - -o /dev/null "http://127.0.0.1:$PORT/api/events/public/upcoming" | tr -d '\r' | awk -F': ' 'tolower($1)=="x-cache"{print $2}')
    local out; out=$(wrk -t 1 -c "$CONNECTIONS" -d "${DURATION}s" --latency "http://127.0.0.1:$PORT/api/events/public/upcoming")
    kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
    local rps p50 p99 errors
    rps=$(echo "$out" | awk '/Requests\/sec/{print $2}')
    p50=$(echo "$out" | awk '$1=="50%"{print $2}')
    p99=$(echo "$out" | awk '$1=="99%"{print $2}')
    errors=$(echo "$out" | awk '/Non-2xx|Socket errors/{print}' | tr '\n' ' ')
    echo "$1|$header|$rps|$p50|$p99|${errors:-none}"
}

echo "== wrk: $CONNECTIONS connections, ${DURATION}s per run, 1 wrk thread, server and wrk sharing $(nproc) cores"
on=$(run on); off=$(run off)
mkdir -p results
stamp=$(date -u +%Y-%m-%dT%H:%M:%SZ)
{
    echo "# Homepage read throughput (GET /api/events/public/upcoming, 20 events per page)"
    echo
    echo "Measured $stamp on $(nproc) cores ($(uname -m)), release build, $EVENTS approved upcoming events,"
    echo "wrk -t1 -c$CONNECTIONS -d${DURATION}s on the same machine (loopback). Command: \`scripts/measure-read-cache.sh\`."
    echo
    echo "| cache | X-Cache | req/s | p50 | p99 | errors |"
    echo "|---|---|---|---|---|---|"
    for row in "$on" "$off"; do IFS='|' read -r mode header rps p50 p99 errors <<<"$row"; echo "| $mode | $header | $rps | $p50 | $p99 | $errors |"; done
} >results/read-cache.md
python3 - "$on" "$off" "$stamp" "$EVENTS" "$CONNECTIONS" "$DURATION" >results/read-cache.json <<'PY'
import json, sys
rows = []
for row in sys.argv[1:3]:
    mode, header, rps, p50, p99, errors = row.split("|")
    rows.append({"cache": mode, "x_cache": header, "requests_per_second": float(rps), "p50": p50, "p99": p99, "errors": errors})
print(json.dumps({"measured_at": sys.argv[3], "route": "GET /api/events/public/upcoming", "events": int(sys.argv[4]),
                  "connections": int(sys.argv[5]), "duration_seconds": int(sys.argv[6]), "runs": rows}, indent=2))
PY
cat results/read-cache.md
