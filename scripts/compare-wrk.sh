#!/usr/bin/env bash
# Measures the load generator itself against wrk: nginx (one worker, loopback, pinned to core 1) serves a ~1 KB
# static JSON file; wrk and happening-bench take turns against it with the same connections and duration, each
# pinned to core 0. Prints req/s, p50/p99 and the generator's CPU seconds (user + sys) per 100,000 requests, writes
# results/compare-wrk.{md,json}, and ends with the line `bench/wrk: req/s ratio R, CPU per request ratio C`.
#
#   scripts/compare-wrk.sh                          # 50 connections, 10 s each
#   CONNECTIONS=100 DURATION=20 scripts/compare-wrk.sh
set -euo pipefail
cd "$(dirname "$0")/.."
CONNECTIONS="${CONNECTIONS:-50}"; DURATION="${DURATION:-10}"; PORT="${PORT:-58080}"
. scripts/lib.sh
require_tool wrk wrk; require_tool nginx nginx-light; require_tool taskset util-linux
[ -x /usr/bin/time ] || { echo "== /usr/bin/time is needed: apt-get install time" >&2; exit 1; }
WORK="$PWD/.run/compare-wrk"; rm -rf "$WORK"; mkdir -p "$WORK/www" "$WORK/logs" "$WORK/bench"
release_build "$WORK" happening-bench
. scripts/static_target.sh
static_target "$WORK" "$PORT"

cat >"$WORK/static.yaml" <<YAML
name: compare-wrk
description: A static ~1 KB JSON file from nginx, closed model (the generator's own cost).
requests:
  - { name: static, path: /static.json, expect: [200] }
phases:
  - { name: steady, model: closed, connections: $CONNECTIONS, duration: ${DURATION}s }
YAML

echo "== wrk -t1 -c$CONNECTIONS -d${DURATION}s (core 0)"
/usr/bin/time -f "%U %S" -o "$WORK/wrk.time" taskset -c 0 wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency "$URL" >"$WORK/wrk.out"
for engine in raw curl; do
    echo "== happening-bench --engine $engine, closed model, $CONNECTIONS connections, ${DURATION}s, 1 thread (core 0)"
    mkdir -p "$WORK/bench-$engine"
    /usr/bin/time -f "%U %S" -o "$WORK/bench-$engine.time" taskset -c 0 .build/release/happening-bench run "$WORK/static.yaml" \
        --target "http://127.0.0.1:$PORT" --engine "$engine" --threads 1 --progress none --out "$WORK/bench-$engine" >"$WORK/bench-$engine.out"
done

.build/release/happening-bench report compare-wrk "$WORK" --connections "$CONNECTIONS" --duration "$DURATION" \
    --commit "$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- Sources || echo +changes)"
