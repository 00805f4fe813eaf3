#!/usr/bin/env bash
# The load generator over TLS and HTTP/2 against the tools people know, on one nginx target: nginx (one worker,
# loopback, pinned to core 1) serves a ~1 KB static JSON file over https with a certificate this script makes
# (HTTP/1.1 and HTTP/2 offered by ALPN). Each generator is pinned to core 0 and runs the same connections and
# duration in turn:
#   HTTP/1.1 over TLS: wrk -t1 -cC, happening-bench (raw engine, then --engine curl), C connections;
#   HTTP/2 over TLS:   h2load -t1 -cK -mS, happening-bench --http2 --streams S with K×S connections (K TCP connections).
# Prints req/s, latency and the generator's CPU seconds (user + sys) per 100,000 requests, writes
# results/compare-tls.{md,json}, and ends with the ratios.
#
#   scripts/compare-tls.sh                                   # C=50, K=4, S=25, 10 s each
#   CONNECTIONS=100 H2_CONNECTIONS=2 STREAMS=50 DURATION=20 scripts/compare-tls.sh
#   SKIP_BUILD=1 scripts/compare-tls.sh                      # .build/release as it is
set -euo pipefail
cd "$(dirname "$0")/.."
CONNECTIONS="${CONNECTIONS:-50}"; H2_CONNECTIONS="${H2_CONNECTIONS:-4}"; STREAMS="${STREAMS:-25}"
DURATION="${DURATION:-10}"; PORT="${PORT:-58443}"
. scripts/lib.sh
require_tool wrk wrk; require_tool h2load nghttp2-client; require_tool nginx nginx; require_tool taskset util-linux
require_tool openssl openssl
[ -x /usr/bin/time ] || { echo "== /usr/bin/time is needed: apt-get install time" >&2; exit 1; }
WORK="$PWD/.run/compare-tls"; rm -rf "$WORK"; mkdir -p "$WORK/www" "$WORK/logs"
[ "${SKIP_BUILD:-0}" = 1 ] || release_build "$WORK" happening-bench
BENCH=.build/release/happening-bench
. scripts/static_target.sh
static_target "$WORK" "$PORT" tls

# scenario NAME CONNECTIONS: a closed-model run of the static file.
scenario() {
    cat >"$WORK/$1.yaml" <<YAML
name: compare-tls-$1
description: A static ~1 KB JSON file from nginx over TLS, closed model (the generator's own cost).
requests:
  - { name: static, path: /static.json, expect: [200] }
phases:
  - { name: steady, model: closed, connections: $2, duration: ${DURATION}s }
YAML
}
# bench NAME CONNECTIONS ARGUMENTS...: happening-bench on core 0, timed.
bench() {
    local name="$1" connections="$2"; shift 2
    scenario "$name" "$connections"
    mkdir -p "$WORK/bench-$name"
    /usr/bin/time -f "%U %S" -o "$WORK/bench-$name.time" taskset -c 0 "$BENCH" run "$WORK/$name.yaml" \
        --target "https://127.0.0.1:$PORT" --cacert "$WORK/cert.pem" --threads 1 --progress none --out "$WORK/bench-$name" "$@" \
        >"$WORK/bench-$name.out"
}

echo "== HTTP/1.1 over TLS: wrk -t1 -c$CONNECTIONS -d${DURATION}s (core 0)"
/usr/bin/time -f "%U %S" -o "$WORK/wrk.time" taskset -c 0 wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency "$URL" >"$WORK/wrk.out"
echo "== HTTP/1.1 over TLS: happening-bench, raw engine, $CONNECTIONS connections (core 0)"
bench raw "$CONNECTIONS" --engine raw
echo "== HTTP/1.1 over TLS: happening-bench --engine curl, $CONNECTIONS connections (core 0)"
bench curl "$CONNECTIONS" --engine curl
echo "== HTTP/2 over TLS: h2load -t1 -c$H2_CONNECTIONS -m$STREAMS -D$DURATION (core 0)"
/usr/bin/time -f "%U %S" -o "$WORK/h2load.time" taskset -c 0 h2load -t1 -c"$H2_CONNECTIONS" -m"$STREAMS" -D"$DURATION" "$URL" >"$WORK/h2load.out"
echo "== HTTP/2 over TLS: happening-bench --http2 --streams $STREAMS, $((H2_CONNECTIONS * STREAMS)) connections (core 0)"
bench h2 "$((H2_CONNECTIONS * STREAMS))" --http2 --streams "$STREAMS"

"$BENCH" report compare-tls "$WORK" --connections "$CONNECTIONS" --h2-connections "$H2_CONNECTIONS" --streams "$STREAMS" --duration "$DURATION" \
    --commit "$(git rev-parse --short HEAD)"
