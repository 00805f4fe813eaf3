#!/usr/bin/env bash
# `make fuzz`: schemathesis (PyPI) generates requests from openapi.yaml against a running release server, once per
# role (anonymous, then a user, an approved host and the admin, each run carrying that role's JWT), and fails on any 5xx or any answer
# the spec does not allow (status code, content type, headers, body schema). The server gets its own database
# (happening_fuzz, seeded small), queue, cache prefix and a worker, so bookings are really decided; payments go to
# the offline gateway. The number of requests is the server's own count (its /metrics), not schemathesis's.
#
#   make fuzz                          # full pass: FUZZ_EXAMPLES=60 cases per operation and role (≥ 1,000 requests)
#   FUZZ_EXAMPLES=8 make fuzz          # the short pass CI runs
#
# Reports (JUnit XML, each role's log) go to $OUT (default .run/fuzz); the summary to $OUT/summary.{json,md}, and
# also to $REPORT.{json,md} when REPORT is set (`make fuzz` sets results/fuzz).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
EXAMPLES="${FUZZ_EXAMPLES:-60}"; PORT="${FUZZ_PORT:-5099}"; OUT="${OUT:-.run/fuzz}"; SEED="${FUZZ_SEED:-1}"
ROLES="${FUZZ_ROLES:-anonymous user host admin}"
# Pinned: a newer schemathesis may add checks, which should be a change of ours, not a red build out of the blue.
SCHEMATHESIS_VERSION=4.32.5
[ "$(python3 -c 'import schemathesis; print(schemathesis.__version__)' 2>/dev/null)" = "$SCHEMATHESIS_VERSION" ] \
    || python3 -m pip install -q "schemathesis==$SCHEMATHESIS_VERSION"
. scripts/lib.sh
require_tool jq jq
services_up postgres redis rabbitmq
rm -rf "$OUT"
release_build "$OUT" happening-server happening-worker happening-seed happening-offline-razorpay
bash scripts/services.sh up gateway >/dev/null 2>&1 || echo "== note: the payment gateway did not start; payment routes will answer 503"

FUZZ_DB="${DATABASE_URL%/*}/happening_fuzz"
psql "$DATABASE_URL" -qc "DROP DATABASE IF EXISTS happening_fuzz WITH (FORCE)" -c "CREATE DATABASE happening_fuzz" >/dev/null
echo "== seeding happening_fuzz (schema, 300 events, 60 users, 400 bookings)"
DATABASE_URL="$FUZZ_DB" "$BIN"/happening-seed --reset --events 300 --users 60 --bookings 400 --progress none >"$OUT/seed.log" 2>&1 \
    || { cat "$OUT/seed.log"; exit 1; }

trap stop_bg EXIT
trap 'exit 130' INT TERM
export DATABASE_URL="$FUZZ_DB" BOOKING_QUEUE="fuzz_$$" CACHE_PREFIX="fuzz-$$:"
start_bg "$OUT/server.log" env PORT="$PORT" LOG_LEVEL=warning "$BIN"/happening-server
start_bg "$OUT/worker.log" env LOG_LEVEL=warning "$BIN"/happening-worker run
BASE="http://127.0.0.1:$PORT"
wait_healthy "$BASE/api/health/live"

# One account per role, from the seeded data (every seeded account has the dev password).
password=$(grep -oE '"dev_password" *: *"[^"]*"' "$OUT/seed.log" | sed -E 's/.*"([^"]*)"$/\1/' || true)
password="${password:-happening-dev-1}"
email_for() { psql "$FUZZ_DB" -Atc "$1"; }
declare -A emails=(
    [user]=$(email_for "SELECT email FROM users WHERE role = 'user' AND NOT is_host ORDER BY email LIMIT 1")
    [host]=$(email_for "SELECT email FROM users WHERE is_host AND host_status = 'approved' AND role = 'user' ORDER BY email LIMIT 1")
    [admin]=$(email_for "SELECT email FROM users WHERE role = 'admin' ORDER BY email LIMIT 1")
)
metric_total() {
    # Sum of a counter over every label set in the server's Prometheus text.
    curl -sf "$BASE/metrics" | awk -v name="$1" '$1 ~ "^"name"(\\{|$)" { sum += $NF } END { printf "%d", sum }'
}
before=$(metric_total http_server_requests_total)
# fuzz_role ROLE: one schemathesis run with that role's token; its log and JUnit file in $OUT, its exit status in
# $OUT/status-ROLE. The roles run at once (schemathesis is one Python process per role, about one core each; in turn
# they took twice the wall time on 2 cores), and their results are printed in order once all have finished.
fuzz_role() {
    local role="$1" auth=() email token rc=0
    if [ "$role" != anonymous ]; then
        email="${emails[$role]:-}"
        [ -n "$email" ] || { echo "no seeded $role account" >"$OUT/schemathesis-$role.log"; echo 1 >"$OUT/status-$role"; return; }
        token=$(curl -sf -H 'Content-Type: application/json' -d "{\"email\":\"$email\",\"password\":\"$password\"}" "$BASE/api/auth/login" \
            | jq -er .token) \
            || { echo "cannot log in as the $role" >"$OUT/schemathesis-$role.log"; echo 1 >"$OUT/status-$role"; return; }
        auth=(-H "Authorization: Bearer $token")
    fi
    # Each role in a directory of its own: schemathesis keeps a cache (.schemathesis/) in its working directory.
    mkdir -p "$OUT/$role"
    (cd "$OUT/$role" && schemathesis --no-color run "$ROOT/openapi.yaml" --url "$BASE" "${auth[@]}" \
        --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance \
        --phases examples,coverage,fuzzing --max-examples "$EXAMPLES" --seed "$SEED" --workers 2 --request-timeout 10 \
        --suppress-health-check all --warnings off --continue-on-failure \
        --report junit --report-junit-path "../junit-$role.xml" >"../schemathesis-$role.log" 2>&1) || rc=$?
    echo "$rc" >"$OUT/status-$role"
}
echo "== schemathesis as $ROLES at once ($EXAMPLES cases per operation and role)"
fuzzers=()
for role in $ROLES; do fuzz_role "$role" & fuzzers+=($!); done
wait "${fuzzers[@]}" || true
status=0
for role in $ROLES; do
    echo "== schemathesis as $role"
    grep -E '^(Test cases|API Operations|Tested operations)|passed|failed' "$OUT/schemathesis-$role.log" | tail -4 || true
    if [ "$(cat "$OUT/status-$role" 2>/dev/null || echo 1)" -ne 0 ]; then
        status=1
        echo "== schemathesis as the $role FAILED; the failures:"
        sed -n '/FAILURES/,$p' "$OUT/schemathesis-$role.log" | head -150
        grep -qE 'FAILURES' "$OUT/schemathesis-$role.log" || tail -20 "$OUT/schemathesis-$role.log"
    fi
done
curl -sf "$BASE/metrics" >"$OUT/metrics.txt"
after=$(metric_total http_server_requests_total)
server_errors=$(awk '$1 ~ /^http_server_requests_total\{/ && $1 ~ /status="5/ { sum += $NF } END { printf "%d", sum }' "$OUT/metrics.txt")
requests=$((after - before))
# schemathesis's own check fails on a 5xx it saw; the server's count also catches one it did not attribute.
[ "$server_errors" -eq 0 ] || status=1
# summary.json / summary.md: per role (operations tested, cases) and per operation (requests, 2xx/4xx/5xx).
python3 scripts/fuzz_summary.py "$OUT" openapi.yaml "$requests" "$EXAMPLES" "$([ $status -eq 0 ] && echo true || echo false)" $ROLES
sed -n '/^| role/,/^$/p' "$OUT/summary.md"
if [ -n "${REPORT:-}" ]; then
    cp "$OUT/summary.json" "$REPORT.json"; cp "$OUT/summary.md" "$REPORT.md"
    echo "== summary in $REPORT.md and $REPORT.json"
fi
echo "== fuzz: $requests requests answered by the server ($server_errors with a 5xx); $([ $status -eq 0 ] && echo passed || echo FAILED)"
exit "$status"
