#!/usr/bin/env bash
# The CI oversell gate: builds (release unless BUILD_CONFIG=debug) of the server, the workers and the Bench run a flash-sale scenario. An
# oversell, a lost or stuck booking, or a phantom write fails the gate, with the report (ledger included)
# printed. Each worker writes its pid to $OUT/worker-N.pid and the Bench gets them (`--worker-pids`), so a
# scenario's `kill-worker` fault can kill one and start it again. Every process it starts is stopped on exit.
#
#   scripts/ci-flash-sale.sh                       # scenarios/flash-sale-ci.yaml, two for-update workers
#   STRATEGY=batch scripts/ci-flash-sale.sh
#   SCENARIO=scenarios/flash-sale-chaos.yaml WORKERS=3 OUT=.run/chaos scripts/ci-flash-sale.sh --set users=1000 --set tickets=10
#
# Arguments after the options are passed to `happening-bench run` (e.g. `--set users=1000`).
set -euo pipefail
cd "$(dirname "$0")/.."
CORE_SERVICES=(postgres redis rabbitmq)
# The gate needs PostgreSQL, Redis and RabbitMQ (not the payment gateway); say why if they do not come up.
if ! services_output=$(bash scripts/services.sh up "${CORE_SERVICES[@]}" 2>&1); then
    echo "== the services did not start:"; echo "$services_output"; exit 1
fi
. .run/env
PORT="${CI_GATE_PORT:-5097}"; STRATEGY="${STRATEGY:-for-update}"; WORKERS="${WORKERS:-2}"; QUEUE="ci_gate_$$"
SCENARIO="${SCENARIO:-scenarios/flash-sale-ci.yaml}"; NAME="$(basename "$SCENARIO" .yaml)"
OUT="${OUT:-.run/ci-gate}"; rm -rf "$OUT"; mkdir -p "$OUT"
. scripts/release-build.sh
release_build "$OUT" happening-server happening-worker happening-seed happening-bench || exit 1

pids=()
cleanup() {
    # The pid files, not only $pids: a worker the Bench killed and started again has a new pid.
    local workers=($(cat "$OUT"/worker-*.pid 2>/dev/null))
    for pid in "${pids[@]}" "${workers[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    # Workers are disowned (so a SIGKILL from the Bench is not reported as a crash of this script): poll them out.
    for pid in "${workers[@]}"; do
        for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
    done
    # A scenario that stops services and fails half-way leaves them down: bring them back for whatever runs next.
    bash scripts/services.sh up "${CORE_SERVICES[@]}" >/dev/null 2>&1 || true
}
trap cleanup EXIT INT TERM
# Exported: the workers (and one the Bench starts again) must forget the server's cache entries under the same prefix.
export CACHE_PREFIX="ci-gate-$$:"
PORT="$PORT" BOOKING_QUEUE="$QUEUE" LOG_LEVEL=error "$BIN"/happening-server >"$OUT/server.log" 2>&1 &
pids+=($!)
pid_args=()
for worker in $(seq 1 "$WORKERS"); do
    BOOKING_QUEUE="$QUEUE" LOG_LEVEL=error "$BIN"/happening-worker run --strategy "$STRATEGY" --prefetch 50 --concurrency 4 \
        >"$OUT/worker-$worker.log" 2>&1 &
    echo "$!" >"$OUT/worker-$worker.pid"
    disown "$!"
    pid_args+=(--worker-pids "$OUT/worker-$worker.pid")
done
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/api/health" >/dev/null && break; sleep 0.1; done

echo "== $NAME against a $BUILD_CONFIG server and $WORKERS '$STRATEGY' workers"
set +e
"$BIN"/happening-bench run "$SCENARIO" --target "http://127.0.0.1:$PORT" --progress lines --out "$OUT" \
    "${pid_args[@]}" "$@"
status=$?
set -e
if [ "$status" -ne 0 ]; then
    echo "== $NAME FAILED (exit $status); the report:"
    cat "$OUT"/*"$NAME".md 2>/dev/null || true
fi
exit "$status"
