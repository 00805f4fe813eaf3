#!/usr/bin/env bash
# The flash-sale day at full size, the way its figures are quoted: release builds, `happening-bench gate` with one
# cache-on server and two 'for-update' workers (--prefetch 50 --concurrency 4), scenarios/flash-sale-day.yaml
# (1,000,000 events: the first run seeds them, later ones add none). Extra arguments go to the gate (e.g.
# --set browse_rate=1000). Reports land in results/runs/ (not kept by git); the gate stops what it started, also on failure and Ctrl-C.
#
# DAY_SERVER_BIN=<dir> runs the server and the workers from another build (a baseline: e.g. a worktree of an older
# commit, built with `swift build -c release`), measured by this checkout's Bench on the same database.
#
#   scripts/flash-sale-day.sh
#   DAY_PORT=5200 scripts/flash-sale-day.sh --set seconds=60s
#   DAY_SERVER_BIN=../baseline/.build/release scripts/flash-sale-day.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
PORT="${DAY_PORT:-5100}"; LOGS=.run/flash-sale-day
services_up postgres redis rabbitmq
release_build "$LOGS" happening-server happening-worker happening-seed happening-bench
SERVER_BIN="${DAY_SERVER_BIN:-$BIN}"
server_commit=$(git -C "$SERVER_BIN" rev-parse --short HEAD 2>/dev/null || git rev-parse --short HEAD)
echo "== flash-sale day against :$PORT (server and workers from $SERVER_BIN at $server_commit; Bench at $(git rev-parse --short HEAD); $(nproc) cores)"
"$BIN"/happening-bench gate scenarios/flash-sale-day.yaml --bin "$SERVER_BIN" --port "$PORT" --workers 2 --server-env CACHE=on \
    --logs "$LOGS" --out results/runs --progress lines "$@"
