#!/usr/bin/env bash
# How fast the worker decides queued bookings, per strategy, on one hot event and spread over 50 events,
# beside pgbench TPS of the same lock + update + insert transaction on one row of the same PostgreSQL.
# Release build. Bounded: JOBS jobs per run, each run times out after TIMEOUT seconds.
# Writes $OUT.{md,json} (results/drain-bench).
#
#   scripts/drain-bench.sh                       # 20,000 jobs per run
#   JOBS=5000 CONCURRENCY=8 scripts/drain-bench.sh
#   OUT=results/demo-drain JOBS=3000 PGBENCH_SECONDS=5 scripts/drain-bench.sh   # what `make demo` runs
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS="${JOBS:-20000}"; CONCURRENCY="${CONCURRENCY:-4}"; PREFETCH="${PREFETCH:-400}"; BATCH="${BATCH:-100}"
TIMEOUT="${TIMEOUT:-300}"; PGBENCH_SECONDS="${PGBENCH_SECONDS:-10}"; PGBENCH_CLIENTS="${PGBENCH_CLIENTS:-8}"
QUEUE="drain_bench_jobs"; OUT="${OUT:-results/drain-bench}"
. scripts/lib.sh
services_up postgres redis rabbitmq
release_build .run/drain-bench happening-worker happening-bench
WORKER="$BIN"/happening-worker
PSQL=(psql "$DATABASE_URL" -qAt -v ON_ERROR_STOP=1)

user=$("${PSQL[@]}" -c "INSERT INTO users (email, password_hash, name) VALUES ('drain-bench@happening.test', 'x', 'Drain Bench')
    ON CONFLICT ((lower(email))) DO UPDATE SET name = EXCLUDED.name RETURNING id")
new_events() {  # $1 = count, $2 = tickets each → ids, one per line
    "${PSQL[@]}" -c "INSERT INTO events (created_by, title, date_time, venue, total_tickets, available_tickets, price, category, approval_status)
        SELECT '$user', 'drain-bench ' || g, now() + interval '30 days', 'Bench Hall', $2, $2, 250.00, 'music', 'approved'
        FROM generate_series(1, $1) g RETURNING id"
}
decided() {  # bookings on these events
    "${PSQL[@]}" -c "SELECT count(*) FROM bookings WHERE event_id = ANY('{$(echo "$1" | paste -sd,)}'::uuid[])"
}
ledger_ok() {  # the Bench's ledger check on every event (never a second copy of it in SQL here)
    local args=() event
    for event in $1; do args+=(--event "$event"); done
    "$BIN"/happening-bench check-ledger "${args[@]}" >/dev/null
}

run() {  # $1 strategy, $2 shape (hot|spread) → "strategy|shape|jobs|seconds|per_second|ledger"
    local events
    if [ "$2" = hot ]; then events=$(new_events 1 $((JOBS * 2))); else events=$(new_events 50 $((JOBS))); fi
    BOOKING_QUEUE=$QUEUE $WORKER publish-test-jobs --jobs "$JOBS" --user "$user" --events $events >/dev/null
    local start end count=0
    start=$(date +%s.%N)
    # One synthetic user books every job: the per-user cap is off for this throughput measurement.
    BOOKING_QUEUE=$QUEUE LOG_LEVEL=error MAX_TICKETS_PER_USER_PER_EVENT=0 $WORKER run --strategy "$1" --prefetch "$PREFETCH" --concurrency "$CONCURRENCY" \
        --batch "$BATCH" --sweep-interval 0 >/tmp/drain-bench-worker.log 2>&1 &
    local pid=$!
    while [ "$count" -lt "$JOBS" ]; do
        sleep 0.2
        count=$(decided "$events")
        if [ "$(echo "$(date +%s.%N) - $start > $TIMEOUT" | bc)" = 1 ]; then echo "timeout after $TIMEOUT s ($count decided)" >&2; break; fi
    done
    end=$(date +%s.%N)
    kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
    local seconds; seconds=$(echo "$end - $start" | bc)
    echo "$1|$2|$count|$(printf '%.2f' "$seconds")|$(printf '%.0f' "$(echo "$count / $seconds" | bc -l)")|$(ledger_ok "$events" && echo ok || echo OVERSOLD)"
}

echo "== pgbench: the same lock + update + insert on one row, $PGBENCH_CLIENTS clients, ${PGBENCH_SECONDS}s"
hot=$(new_events 1 100000000)
cat >/tmp/drain-bench.pgbench <<SQL
BEGIN;
SELECT available_tickets FROM events WHERE id = '$hot' FOR UPDATE;
UPDATE events SET available_tickets = available_tickets - 1 WHERE id = '$hot';
INSERT INTO bookings (user_id, event_id, ticket_count, total_amount, status, hold_expires_at)
VALUES ('$user', '$hot', 1, 250.00, 'pending', now() + interval '15 minutes');
COMMIT;
SQL
pgbench_tps=$(pgbench -n -c "$PGBENCH_CLIENTS" -j 2 -T "$PGBENCH_SECONDS" -f /tmp/drain-bench.pgbench "$DATABASE_URL" 2>/dev/null \
    | awk '/^tps/ {print int($3); exit}')
echo "pgbench: $pgbench_tps TPS"

rows=()
for strategy in for-update conditional-update batch; do
    for shape in hot spread; do
        echo "== $strategy, $shape: $JOBS jobs"
        rows+=("$(run "$strategy" "$shape")")
        echo "   ${rows[-1]}"
    done
done

"$BIN"/happening-bench report drain --jobs "$JOBS" --pgbench-tps "$pgbench_tps" --pgbench-clients "$PGBENCH_CLIENTS" --prefetch "$PREFETCH" \
    --concurrency "$CONCURRENCY" --batch "$BATCH" --out "$OUT" "${rows[@]}"
