#!/usr/bin/env bash
# `make demo`: the whole story on one machine. Services, release build, schema, seed; a flash sale per worker
# strategy (`happening-bench gate`: a server and two workers each); each strategy draining a full queue beside pgbench's
# hot row (scripts/drain-bench.sh: a sale's gate lets only the tickets through, so the sale shows the sale's pace, not
# the strategy's); the homepage cache comparison (a cache-on and a
# cache-off server, one database); the flash-sale day (browsing at a steady rate through a flash sale, two lanes);
# the chaos flash sale (three workers, one killed; RabbitMQ and PostgreSQL restarted under the running server);
# then a summary table. Everything started here is stopped at the end, on failure and on Ctrl-C.
#
#   make demo                                        # 100,000 events, 10,000 users, 5,000 flash-sale users
#   DEMO_EVENTS=20000 DEMO_USERS=2000 DEMO_BENCH_USERS=1000 make demo
#   DEMO_CHAOS=0 make demo                           # without the chaos flash sale
#   DEMO_DAY_RATE=500 DEMO_DAY_SECONDS=20s make demo  # the flash-sale day's browse rate and length (default 1000/s, 30 s)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
EVENTS="${DEMO_EVENTS:-100000}"; USERS="${DEMO_USERS:-10000}"; BENCH_USERS="${DEMO_BENCH_USERS:-5000}"
TICKETS="${DEMO_TICKETS:-100}"; PORT_ON="${DEMO_PORT:-5000}"; PORT_OFF=$((PORT_ON + 1)); PORT_GATE=$((PORT_ON + 2))
STRATEGIES="${DEMO_STRATEGIES:-for-update conditional-update batch}"
RATE="${DEMO_RATE:-100}"; SECONDS_PER_PHASE="${DEMO_SECONDS:-10s}"; CHAOS="${DEMO_CHAOS:-1}"
DAY_RATE="${DEMO_DAY_RATE:-1000}"; DAY_SECONDS="${DEMO_DAY_SECONDS:-30s}"; DRAIN_JOBS="${DEMO_DRAIN_JOBS:-3000}"
LOGS=.run/demo; mkdir -p "$LOGS" results
started=$(date +%s)

services_up postgres redis rabbitmq
release_build "$LOGS" happening-server happening-worker happening-seed happening-bench
built=$(date +%s)
trap stop_bg EXIT
trap 'echo; echo "demo: interrupted, stopping everything"; exit 130' INT TERM
# gate NAME SCENARIO GATE-ARGUMENTS...: one gate run, its output in $LOGS/NAME.out; prints the result JSON's path.
gate() {
    local name="$1" scenario="$2"; shift 2
    "$BIN"/happening-bench gate "$scenario" --port "$PORT_GATE" --logs "$LOGS/$name" --out results/runs --progress lines "$@" \
        | tee "$LOGS/$name.out" >&2 || true
    grep -oE "results/[^ ,]*$(basename "$scenario" .yaml)\.json" "$LOGS/$name.out" | tail -1
}

echo "== seeding $EVENTS events, $USERS users (the schema is re-applied)"
"$BIN"/happening-seed --reset --events "$EVENTS" --users "$USERS" --progress lines

reports=()
for strategy in $STRATEGIES; do
    echo "== flash sale: $BENCH_USERS users, $TICKETS tickets, two '$strategy' workers"
    reports+=("$strategy=$(gate "flash-sale-$strategy" scenarios/flash-sale.yaml --strategy "$strategy" --batch 100 \
        --set users="$BENCH_USERS" --set tickets="$TICKETS")")
done

echo "== the strategies draining a full queue: $DRAIN_JOBS jobs each, one hot event and 50 events, beside pgbench"
drain=""
if OUT=results/demo-drain JOBS="$DRAIN_JOBS" PGBENCH_SECONDS=5 SKIP_BUILD=1 bash scripts/drain-bench.sh | tee "$LOGS/drain.out"; then
    drain=results/demo-drain.json
fi

echo "== homepage: cache on vs cache off ($RATE req/s latency phase, $SECONDS_PER_PHASE per phase)"
start_bg "$LOGS/server-on.log" env PORT="$PORT_ON" CACHE=on CACHE_PREFIX="demo-$$-on:" LOG_LEVEL=error "$BIN"/happening-server
start_bg "$LOGS/server-off.log" env PORT="$PORT_OFF" CACHE=off LOG_LEVEL=error "$BIN"/happening-server
wait_healthy "http://127.0.0.1:$PORT_ON/api/health" && wait_healthy "http://127.0.0.1:$PORT_OFF/api/health"
"$BIN"/happening-bench compare scenarios/homepage.yaml --cache-on "http://127.0.0.1:$PORT_ON" --cache-off "http://127.0.0.1:$PORT_OFF" \
    --set rate="$RATE" --set seconds="$SECONDS_PER_PHASE" --progress lines --out results/runs | tee "$LOGS/homepage.out" || true
homepage="$(grep -oE 'results/[^ ,]*homepage\.json' "$LOGS/homepage.out" | tail -1)"
stop_bg

echo "== flash-sale day: $DAY_RATE req/s of homepage reads for $DAY_SECONDS, a $BENCH_USERS-user sale 10 s in; two 'for-update' workers"
# --set events: the database was seeded above, so the scenario's setup finds at least that many and adds none.
day="$(gate day scenarios/flash-sale-day.yaml --server-env CACHE=on --set events="$EVENTS" --set browse_rate="$DAY_RATE" --set warm=10s \
    --set sale_at=20s --set seconds="$DAY_SECONDS" --set users="$BENCH_USERS" --set bench_users="$((BENCH_USERS + 10000))" --set tickets="$TICKETS")"

chaos=""
if [ "$CHAOS" = 1 ]; then
    # Last, because it restarts PostgreSQL and RabbitMQ under the running server (which must recover on its own).
    echo "== chaos flash sale: $BENCH_USERS users, $TICKETS tickets, three 'for-update' workers; one killed, broker and database restarted"
    chaos="$(gate chaos scenarios/flash-sale-chaos.yaml --workers 3 --set users="$BENCH_USERS" --set tickets="$TICKETS")"
    services_up postgres redis rabbitmq >/dev/null  # whatever happened, leave them running
fi

"$BIN"/happening-bench report demo --seconds-after-build "$(( $(date +%s) - built ))" --homepage "$homepage" --drain "$drain" --day "$day" \
    --chaos "$chaos" "${reports[@]}"
echo "demo: done in $(( $(date +%s) - started )) s ($(( $(date +%s) - built )) s after the build); runs in results/runs/, the summary in results/demo-summary.md"
