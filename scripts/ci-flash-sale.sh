#!/usr/bin/env bash
# The CI oversell gate: release builds of the server, two workers and the Bench run scenarios/flash-sale-ci.yaml
# (1,000 users, 10 tickets). An oversell, a lost or stuck booking, or a phantom write fails the gate, with the
# report (ledger included) printed. Every process it starts is stopped on exit.
#
#   scripts/ci-flash-sale.sh                       # workers use --strategy for-update
#   STRATEGY=batch scripts/ci-flash-sale.sh
set -euo pipefail
cd "$(dirname "$0")/.."
# The gate needs PostgreSQL, Redis and RabbitMQ (not the payment gateway); say why if they do not come up.
if ! services_output=$(bash scripts/services.sh up postgres redis rabbitmq 2>&1); then
    echo "== the services did not start:"; echo "$services_output"; exit 1
fi
. .run/env
PORT="${CI_GATE_PORT:-5097}"; STRATEGY="${STRATEGY:-for-update}"; QUEUE="ci_gate_$$"
OUT=.run/ci-gate; rm -rf "$OUT"; mkdir -p "$OUT"
echo "== release build (server, worker, seeder, bench); log in $OUT/build.log"
if ! swift build -c release >"$OUT/build.log" 2>&1; then grep -E 'error' "$OUT/build.log" | head -20; exit 1; fi
tail -1 "$OUT/build.log"

pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM
PORT="$PORT" BOOKING_QUEUE="$QUEUE" CACHE_PREFIX="ci-gate-$$:" LOG_LEVEL=error .build/release/happening-server >"$OUT/server.log" 2>&1 &
pids+=($!)
for worker in 1 2; do
    BOOKING_QUEUE="$QUEUE" LOG_LEVEL=error .build/release/happening-worker run --strategy "$STRATEGY" --prefetch 50 --concurrency 4 \
        >"$OUT/worker-$worker.log" 2>&1 &
    pids+=($!)
done
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/api/health" >/dev/null && break; sleep 0.1; done

echo "== flash sale (CI size) against a release server and two '$STRATEGY' workers"
set +e
.build/release/happening-bench run scenarios/flash-sale-ci.yaml --target "http://127.0.0.1:$PORT" --progress lines --out "$OUT"
status=$?
set -e
if [ "$status" -ne 0 ]; then
    echo "== the flash-sale gate FAILED (exit $status); the report:"
    cat "$OUT"/*flash-sale-ci.md 2>/dev/null || true
fi
exit "$status"
