#!/usr/bin/env bash
# A flash sale's intake against nginx in the same run: USERS buyers (5,000) open their connections, then all send
# POST /api/bookings at the same instant (the barrier of scenarios/flash-sale.yaml, TICKETS tickets), answered by
#   server   `happening-bench gate`: the release server and two for-update workers, default flags; the ledger checked
#   nginx    two workers (the server's two event loops) answering every booking with the server's own 422 body
# Both on the same two cores as the Bench, services and workers. ROUNDS rounds (3), each the server then nginx; the
# report quotes the median, the server's figures as multiples of nginx's (CPU per request first: it does not depend
# on the machine), and the goal of issue "The lean request path": intake p99 ≤ 400 ms in every round.
# Writes $OUT.{md,json} (results/barrier-vs-nginx).
#
#   scripts/compare-barrier.sh                    # 3 rounds, 5,000 buyers, 100 tickets
#   ROUNDS=1 USERS=2000 SKIP_BUILD=1 scripts/compare-barrier.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS="${ROUNDS:-3}"; USERS="${USERS:-5000}"; TICKETS="${TICKETS:-100}"
PORT="${PORT:-5097}"; NGINX_PORT="${NGINX_PORT:-18082}"; OUT="${OUT:-results/barrier-vs-nginx}"
. scripts/lib.sh
require_tool nginx nginx-light
services_up postgres redis rabbitmq
WORK="$PWD/.run/compare-barrier"; rm -rf "$WORK"; mkdir -p "$WORK/logs" "$WORK/server" "$WORK/nginx"
release_build "$WORK" happening-server happening-worker happening-seed happening-bench

REFUSAL='{"code":"sold_out","error":"Not enough tickets left (0 available)"}'
cat >"$WORK/nginx.conf" <<CONF
worker_processes 2;
daemon off;
pid $WORK/nginx.pid;
error_log $WORK/logs/nginx-error.log warn;
worker_rlimit_nofile $((USERS * 4));
events { worker_connections $((USERS * 2)); }
http {
    access_log off;
    keepalive_requests 100000000;
    default_type application/json;
    server {
        listen 127.0.0.1:$NGINX_PORT backlog=8192;
        location = /api/bookings { return 422 '$REFUSAL'; }
        location = /health { return 200 'ok'; }
    }
}
CONF
# The same requests as flash-sale.yaml's, without its setup and ledger (nginx books nothing).
cat >"$WORK/barrier.yaml" <<YAML
name: barrier-anchor
description: Every buyer's booking at the same instant, answered 422 by nginx.
requests:
  - name: book
    method: POST
    path: /api/bookings
    body: '{"event_id":"00000000-0000-4000-8000-000000000001","ticket_count":1}'
    expect: [422]
phases:
  - name: intake
    model: barrier
    connections: $USERS
    requests: [book]
YAML
trap stop_bg EXIT
start_bg "$WORK/logs/nginx.log" nginx -c "$WORK/nginx.conf" -p "$WORK"
wait_healthy "http://127.0.0.1:$NGINX_PORT/health" 10
NGINX_WORKERS=$(pgrep -P "${BG_PIDS[-1]}" -d ' ' || true)
[ -n "$NGINX_WORKERS" ] || NGINX_WORKERS="${BG_PIDS[-1]}"

for round in $(seq 1 "$ROUNDS"); do
    "$BIN"/happening-bench gate scenarios/flash-sale.yaml --bin "$BIN" --port "$PORT" --logs "$WORK/logs/gate-$round" \
        --out "$WORK/server/$round" --progress none --set users="$USERS" --set tickets="$TICKETS" >"$WORK/logs/gate-$round.out" 2>&1 || true
    pids=(); for pid in $NGINX_WORKERS; do pids+=(--target-pid "$pid"); done
    "$BIN"/happening-bench run "$WORK/barrier.yaml" --target "http://127.0.0.1:$NGINX_PORT" "${pids[@]}" \
        --out "$WORK/nginx/$round" --progress none >"$WORK/logs/nginx-$round.out" 2>&1 || true
    printf '   round %s  server: %s\n' "$round" "$(grep -m1 -E 'intake:' "$WORK/logs/gate-$round.out" | sed 's/^ *//')"
    printf '   round %s  nginx:  %s\n' "$round" "$(grep -m1 -E 'intake:' "$WORK/logs/nginx-$round.out" | sed 's/^ *//')"
done
"$BIN"/happening-bench report compare-barrier "$WORK" --rounds "$ROUNDS" --users "$USERS" --tickets "$TICKETS" --commit "$(git rev-parse --short HEAD)" \
    --out "$OUT"
