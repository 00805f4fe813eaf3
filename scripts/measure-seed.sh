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
services_up postgres redis rabbitmq
release_build .run/seedbench happening-seed
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
    python3 - "$WORK/seed-$run.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1])); e = [t for t in s["tables"] if t["table"] == "events"][0]
print("   total %.2f s; events COPY %.2f s = %s rows/s; indexes %.2f s" % (s["seconds"], e["seconds"], format(e["rows_per_second"], ","), s["index_seconds"]))
PY
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
    seconds=$(python3 -c "print(round($end - $start, 3))")
    echo "   \\copy $seconds s = $(python3 -c "print(f'{int($EVENTS / ($end - $start)):,}')") rows/s"
    copy_runs+=("$seconds")
done

mkdir -p results
python3 - "$EVENTS" "$USERS" "$ANCHOR" "$SEED" "${copy_runs[*]}" "${seeder_runs[@]}" <<'PY'
import json, os, platform, statistics, subprocess, sys, datetime
events, users, anchor, seed = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
copy = [float(x) for x in sys.argv[5].split()]
runs = [json.load(open(p)) for p in sys.argv[6:]]
def ev(s): return [t for t in s["tables"] if t["table"] == "events"][0]
seed_copy = [ev(s)["seconds"] for s in runs]
totals = [s["seconds"] for s in runs]
indexes = [s["index_seconds"] for s in runs]
med = statistics.median
pg = subprocess.run(["psql", os.environ["DATABASE_URL"], "-Atc", "SHOW server_version"], capture_output=True, text=True).stdout.strip()
mem = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30)
result = {
    "measured_at": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    "machine": {"cores": os.cpu_count(), "memory_gib": mem, "arch": platform.machine(), "postgres": pg},
    "command": "scripts/measure-seed.sh", "events": events, "users": users, "seed": seed, "anchor_date": anchor,
    "seeder": {"total_seconds": totals, "events_copy_seconds": seed_copy, "index_seconds": indexes,
               "median_total_seconds": med(totals), "median_events_rows_per_second": int(events / med(seed_copy)),
               "median_total_rows_per_second": int((events + users) / med(totals)), "format": "binary COPY, 50,000 rows per batch"},
    "psql_copy": {"seconds": copy, "median_seconds": med(copy), "median_rows_per_second": int(events / med(copy)), "format": "CSV, one \\copy"},
    "ratio_events_rate": round(med(copy) / med(seed_copy), 2),
    "goals": {"ratio_at_least": 0.9, "total_seconds_under": 20},
}
result["verdict"] = "met" if result["ratio_events_rate"] >= 0.9 and med(totals) < 20 else "missed"
json.dump(result, open("results/seed-vs-copy.json", "w"), indent=2)
fmt = lambda xs: ", ".join(f"{x:.2f}" for x in xs)
md = f"""# Seeder vs `psql \\copy`

Measured {result['measured_at']} on {os.cpu_count()} cores / {mem} GiB ({platform.machine()}), PostgreSQL {pg}, release build.
Command: `scripts/measure-seed.sh` ({len(runs)} runs each; medians). Same database server, same {events:,} event rows
(seed {seed}, anchor {anchor}), loaded into the same table state (secondary indexes and foreign keys deferred).

| | median | runs (s) |
|---|---|---|
| `happening-seed` events COPY (binary, generated on the fly) | **{med(seed_copy):.2f} s = {int(events / med(seed_copy)):,} rows/s** | {fmt(seed_copy)} |
| `psql \\copy` of the same rows from CSV | **{med(copy):.2f} s = {int(events / med(copy)):,} rows/s** | {fmt(copy)} |
| ratio (seeder rate / `\\copy` rate) | **{result['ratio_events_rate']}×** (goal ≥ 0.9×) | |
| `happening-seed --reset` whole run: {events:,} events + {users:,} users + hosts' bank accounts, indexes, FKs, ANALYZE | **{med(totals):.2f} s = {int((events + users) / med(totals)):,} rows/s** (goal < 20 s) | {fmt(totals)} |
| of which rebuilding indexes + foreign keys + ANALYZE | {med(indexes):.2f} s | {fmt(indexes)} |

Verdict: **{result['verdict']}**.
"""
open("results/seed-vs-copy.md", "w").write(md)
print(md)
PY
