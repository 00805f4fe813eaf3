#!/usr/bin/env bash
# Times the seeder against `psql \copy` on the same machine, the same database server and the same rows:
#   1. happening-seed --reset: EVENTS events + USERS users (+ hosts' bank accounts), indexes rebuilt after the load;
#   2. happening-seed --csv-out: the very same event rows as CSV;
#   3. a fresh reset with the users only, the events table's secondary indexes and foreign keys dropped (the state
#      the seeder loads events into), then `psql \copy events FROM events.csv (FORMAT csv)`.
# Each is run RUNS times; medians are compared. Writes results/seed-vs-copy.{md,json}. Uses its own database
# (happening_seedbench), never the dev database.
#
#   scripts/measure-seed.sh                       # 1,000,000 events, 50,000 users, 3 runs
#   EVENTS=200000 USERS=10000 RUNS=1 scripts/measure-seed.sh
set -euo pipefail
cd "$(dirname "$0")/.."
EVENTS="${EVENTS:-1000000}"; USERS="${USERS:-50000}"; RUNS="${RUNS:-3}"; SEED="${SEED:-7}"; ANCHOR="${ANCHOR:-2026-11-25}"
. scripts/lib.sh
require_tool jq jq
services_up postgres redis rabbitmq
release_build .run/seedbench happening-seed happening-bench
SEEDER="$BIN"/happening-seed
DB="${DATABASE_URL%/*}/happening_seedbench"
psql "$DATABASE_URL" -qtc "SELECT 1 FROM pg_database WHERE datname = 'happening_seedbench'" | grep -q 1 \
    || psql "$DATABASE_URL" -qc "CREATE DATABASE happening_seedbench"
WORK=.run/seedbench; mkdir -p "$WORK"
COLUMNS="id, created_by, title, description, date_time, venue, total_tickets, available_tickets, price, category, image_url, created_at, updated_at, is_cancelled, approval_status, admin_notes, approved_by, approved_at, latitude, longitude"
now() { date +%s.%N; }

echo "== CSV of the same $EVENTS events"
"$SEEDER" --seed "$SEED" --anchor-date "$ANCHOR" --events "$EVENTS" --users "$USERS" --csv-out "$WORK" --progress none --json >/dev/null
ls -l "$WORK/events.csv" | awk '{printf "   %s bytes\n", $5}'

seeder_runs=(); copy_runs=()
for run in $(seq 1 "$RUNS"); do
    echo "== run $run/$RUNS: happening-seed --reset --events $EVENTS --users $USERS"
    "$SEEDER" --database-url "$DB" --reset --seed "$SEED" --anchor-date "$ANCHOR" --events "$EVENTS" --users "$USERS" \
        --progress none --json >"$WORK/seed-$run.json"
    jq -r '[.seconds, (.tables[] | select(.table == "events") | .seconds, .rows_per_second), .index_seconds] | @tsv' "$WORK/seed-$run.json" \
        | awk -F'\t' '{ printf "   total %.2f s; events COPY %.2f s = %d rows/s; indexes %.2f s\n", $1, $2, $3, $4 }'
    seeder_runs+=("$WORK/seed-$run.json")

    echo "== run $run/$RUNS: psql \\copy of the same rows"
    "$SEEDER" --database-url "$DB" --reset --seed "$SEED" --anchor-date "$ANCHOR" --events 0 --users "$USERS" --progress none --json >/dev/null
    psql "$DB" -q -v ON_ERROR_STOP=1 <<'SQL'
DO $$ DECLARE r record; BEGIN
    FOR r IN SELECT conname FROM pg_constraint WHERE conrelid = 'events'::regclass AND contype IN ('f', 'u') LOOP
        EXECUTE format('ALTER TABLE events DROP CONSTRAINT %I CASCADE', r.conname);
    END LOOP;
    FOR r IN SELECT i.indexrelid::regclass::text AS name FROM pg_index i WHERE i.indrelid = 'events'::regclass AND NOT i.indisprimary LOOP
        EXECUTE 'DROP INDEX ' || r.name;
    END LOOP;
END $$;
SQL
    start=$(now)
    psql "$DB" -q -v ON_ERROR_STOP=1 -c "\\copy events ($COLUMNS) FROM '$WORK/events.csv' WITH (FORMAT csv)"
    end=$(now)
    read -r seconds rate < <(awk -v start="$start" -v end="$end" -v rows="$EVENTS" 'BEGIN { printf "%.3f %d\n", end - start, rows / (end - start) }')
    echo "   \\copy $seconds s = $rate rows/s"
    copy_runs+=(--copy-seconds "$seconds")
done

"$BIN"/happening-bench report seed-vs-copy --events "$EVENTS" --users "$USERS" --seed "$SEED" --anchor-date "$ANCHOR" \
    --postgres "$(psql "$DATABASE_URL" -Atc 'SHOW server_version')" "${copy_runs[@]}" "${seeder_runs[@]}"
