#!/usr/bin/env bash
# `make demo`: the whole story on one machine. Services, release build, schema, seed, two servers (cache on and
# cache off, one database), two workers per strategy, a flash sale per worker strategy, the homepage cache
# comparison, the flash-sale day (browsing at a steady rate through a flash sale, two lanes), the chaos flash sale (three workers, one killed; RabbitMQ and PostgreSQL restarted under the running
# servers), then a summary table. Every process it starts is stopped at the end, on failure and on Ctrl-C.
#
#   make demo                                        # 100,000 events, 10,000 users, 5,000 flash-sale users
#   DEMO_EVENTS=20000 DEMO_USERS=2000 DEMO_BENCH_USERS=1000 make demo
#   DEMO_CHAOS=0 make demo                           # without the chaos flash sale
#   DEMO_DAY_RATE=500 DEMO_DAY_SECONDS=20s make demo  # the flash-sale day's browse rate and length (default 1000/s, 30 s)
set -euo pipefail
cd "$(dirname "$0")/.."
EVENTS="${DEMO_EVENTS:-100000}"; USERS="${DEMO_USERS:-10000}"; BENCH_USERS="${DEMO_BENCH_USERS:-5000}"
TICKETS="${DEMO_TICKETS:-100}"; PORT_ON="${DEMO_PORT:-5000}"; PORT_OFF=$((PORT_ON + 1))
STRATEGIES="${DEMO_STRATEGIES:-for-update conditional-update batch}"
RATE="${DEMO_RATE:-100}"; SECONDS_PER_PHASE="${DEMO_SECONDS:-10s}"; CHAOS="${DEMO_CHAOS:-1}"
DAY_RATE="${DEMO_DAY_RATE:-1000}"; DAY_SECONDS="${DEMO_DAY_SECONDS:-30s}"
LOGS=.run/demo; mkdir -p "$LOGS" results
started=$(date +%s)

bash scripts/services.sh up postgres redis rabbitmq
. .run/env
. scripts/release-build.sh
release_build "$LOGS" happening-server happening-worker happening-seed happening-bench || exit 1
built=$(date +%s)

pids=()
servers=()
stop_all() {
    # The pid files too: a worker the chaos run killed and started again has a new pid.
    local chaos_workers=($(cat "$LOGS"/chaos-worker-*.pid 2>/dev/null))
    for pid in "${pids[@]}" "${servers[@]}" "${chaos_workers[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    for pid in "${chaos_workers[@]}"; do  # disowned: poll them out
        for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
    done
    rm -f "$LOGS"/chaos-worker-*.pid
}
trap stop_all EXIT
trap 'echo; echo "demo: interrupted, stopping everything"; exit 130' INT TERM

echo "== seeding $EVENTS events, $USERS users (the schema is re-applied)"
.build/release/happening-seed --reset --events "$EVENTS" --users "$USERS" --progress lines

echo "== servers: cache on at :$PORT_ON, cache off at :$PORT_OFF (same database)"
# Exported: every worker below decides bookings read through the cache-on server, and must forget its entries
# under the same prefix (a worker without it invalidates keys nobody reads, and readers see sold-out events as open).
export CACHE_PREFIX="demo-$$-on:"
PORT="$PORT_ON" CACHE=on LOG_LEVEL=error .build/release/happening-server >"$LOGS/server-on.log" 2>&1 &
servers+=($!)
PORT="$PORT_OFF" CACHE=off LOG_LEVEL=error .build/release/happening-server >"$LOGS/server-off.log" 2>&1 &
servers+=($!)
for port in "$PORT_ON" "$PORT_OFF"; do
    for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/api/health" >/dev/null && break; sleep 0.1; done
done

reports=()
for strategy in $STRATEGIES; do
    echo "== flash sale: $BENCH_USERS users, $TICKETS tickets, two '$strategy' workers"
    pids=()
    for worker in 1 2; do
        LOG_LEVEL=error .build/release/happening-worker run --strategy "$strategy" --prefetch 50 --concurrency 4 --batch 100 \
            >"$LOGS/worker-$strategy-$worker.log" 2>&1 &
        pids+=($!)
    done
    sleep 1
    .build/release/happening-bench run scenarios/flash-sale.yaml --target "http://127.0.0.1:$PORT_ON" --set users="$BENCH_USERS" \
        --set tickets="$TICKETS" --progress lines --out results | tee "$LOGS/flash-sale-$strategy.out" || true
    reports+=("$strategy=$(grep -oE 'results/[^ ,]*flash-sale\.json' "$LOGS/flash-sale-$strategy.out" | tail -1)")
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    wait "${pids[@]}" 2>/dev/null || true
    pids=()
done

echo "== homepage: cache on vs cache off ($RATE req/s latency phase, $SECONDS_PER_PHASE per phase)"
.build/release/happening-bench compare scenarios/homepage.yaml --cache-on "http://127.0.0.1:$PORT_ON" --cache-off "http://127.0.0.1:$PORT_OFF" \
    --set rate="$RATE" --set seconds="$SECONDS_PER_PHASE" --progress lines --out results | tee "$LOGS/homepage.out" || true
homepage="$(grep -oE 'results/[^ ,]*homepage\.json' "$LOGS/homepage.out" | tail -1)"

echo "== flash-sale day: $DAY_RATE req/s of homepage reads for $DAY_SECONDS, a $BENCH_USERS-user sale 10 s in; two 'for-update' workers"
pids=()
for worker in 1 2; do
    LOG_LEVEL=error .build/release/happening-worker run --strategy for-update --prefetch 50 --concurrency 4 >"$LOGS/day-worker-$worker.log" 2>&1 &
    pids+=($!)
done
sleep 1
# --set events: the database was seeded above, so the scenario's setup finds at least that many and adds none.
.build/release/happening-bench run scenarios/flash-sale-day.yaml --target "http://127.0.0.1:$PORT_ON" --set events="$EVENTS" \
    --set browse_rate="$DAY_RATE" --set warm=10s --set sale_at=20s --set seconds="$DAY_SECONDS" --set users="$BENCH_USERS" --set bench_users="$((BENCH_USERS + 10000))" --set tickets="$TICKETS" \
    --progress lines --out results | tee "$LOGS/day.out" || true
day="$(grep -oE 'results/[^ ,]*flash-sale-day\.json' "$LOGS/day.out" | tail -1)"
for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
wait "${pids[@]}" 2>/dev/null || true
pids=()

chaos=""
if [ "$CHAOS" = 1 ]; then
    # Last, because it restarts PostgreSQL and RabbitMQ under the running servers (which must recover on their own).
    echo "== chaos flash sale: $BENCH_USERS users, $TICKETS tickets, three 'for-update' workers; one killed, broker and database restarted"
    pids=(); pid_args=()
    for worker in 1 2 3; do
        LOG_LEVEL=error .build/release/happening-worker run --strategy for-update --prefetch 50 --concurrency 4 \
            >"$LOGS/chaos-worker-$worker.log" 2>&1 &
        # Disowned, so the fault's SIGKILL is not reported as a crash; stop_all stops them through the pid files.
        echo "$!" >"$LOGS/chaos-worker-$worker.pid"; disown "$!"; pid_args+=(--worker-pids "$LOGS/chaos-worker-$worker.pid")
    done
    sleep 1
    .build/release/happening-bench run scenarios/flash-sale-chaos.yaml --target "http://127.0.0.1:$PORT_ON" --set users="$BENCH_USERS" \
        --set tickets="$TICKETS" "${pid_args[@]}" --progress lines --out results | tee "$LOGS/chaos.out" || true
    chaos="$(grep -oE 'results/[^ ,]*flash-sale-chaos\.json' "$LOGS/chaos.out" | tail -1)"
    bash scripts/services.sh up postgres redis rabbitmq >/dev/null  # whatever happened, leave them running
fi

python3 scripts/demo_summary.py "$(( $(date +%s) - built ))" "$homepage" "${reports[@]}" ${day:+"day=$day"} ${chaos:+"chaos=$chaos"}
echo "demo: done in $(( $(date +%s) - started )) s ($(( $(date +%s) - built )) s after the build); reports in results/"
