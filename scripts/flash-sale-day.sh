#!/usr/bin/env bash
# The flash-sale day at full size, the way its figures are quoted: release builds, one cache-on server, two
# 'for-update' workers (--prefetch 50 --concurrency 4), scenarios/flash-sale-day.yaml (1,000,000 events: the first run
# seeds them, later ones add none). Extra arguments go to `happening-bench run` (e.g. --set browse_rate=1000).
# Reports land in results/. Everything started here is stopped at the end, on failure and on Ctrl-C.
#
# DAY_SERVER_BIN=<dir> runs the server and the workers from another build (a baseline: e.g. a worktree of an older
# commit, built with `swift build -c release`), measured by this checkout's Bench on the same database.
#
#   scripts/flash-sale-day.sh
#   DAY_PORT=5200 scripts/flash-sale-day.sh --set seconds=60s
#   DAY_SERVER_BIN=../baseline/.build/release scripts/flash-sale-day.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PORT="${DAY_PORT:-5100}"; LOGS=.run/flash-sale-day; mkdir -p "$LOGS" results

bash scripts/services.sh up postgres redis rabbitmq
. .run/env
. scripts/release-build.sh
release_build "$LOGS" happening-server happening-worker happening-seed happening-bench || exit 1
SERVER_BIN="${DAY_SERVER_BIN:-$BIN}"
[ -x "$SERVER_BIN/happening-server" ] && [ -x "$SERVER_BIN/happening-worker" ] \
    || { echo "flash-sale-day: no happening-server and happening-worker in $SERVER_BIN"; exit 1; }

pids=()
stop_all() { for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap stop_all EXIT
trap 'echo; echo "flash-sale-day: interrupted, stopping everything"; exit 130' INT TERM

# Exported: the workers must forget the server's cache entries under the same prefix.
export CACHE_PREFIX="day-$$:"
PORT="$PORT" CACHE=on LOG_LEVEL=error "$SERVER_BIN"/happening-server >"$LOGS/server.log" 2>&1 &
pids+=($!)
for worker in 1 2; do
    LOG_LEVEL=error "$SERVER_BIN"/happening-worker run --strategy for-update --prefetch 50 --concurrency 4 >"$LOGS/worker-$worker.log" 2>&1 &
    pids+=($!)
done
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/api/health" >/dev/null && break; sleep 0.1; done
curl -sf "http://127.0.0.1:$PORT/api/health" >/dev/null || { echo "flash-sale-day: the server did not start; see $LOGS/server.log"; exit 1; }

server_commit=$(git -C "$SERVER_BIN" rev-parse --short HEAD 2>/dev/null || git rev-parse --short HEAD)
echo "== flash-sale day against :$PORT (server and workers from $SERVER_BIN at $server_commit; Bench at $(git rev-parse --short HEAD); $(nproc) cores)"
"$BIN"/happening-bench run scenarios/flash-sale-day.yaml --target "http://127.0.0.1:$PORT" --progress lines --out results "$@"
