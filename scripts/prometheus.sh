#!/usr/bin/env bash
# Debian's Prometheus beside a Happening run, on loopback, with deploy/prometheus/prometheus.yml: it scrapes the
# server's and workers' /metrics and takes the Bench's series by remote write (--web.enable-remote-write-receiver).
#
#   scripts/prometheus.sh up       # start it (or say it already runs); prints the remote-write URL
#   scripts/prometheus.sh down     # stop it (the data stays in $PROMETHEUS_DIR/data)
#   scripts/prometheus.sh status
#
# PROMETHEUS_PORT (30909) and PROMETHEUS_DIR (.run/prometheus: data, log, pid file) move it; PROMETHEUS_CONFIG
# names another configuration; PROMETHEUS_RETENTION (15d) bounds the data kept.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT="${PROMETHEUS_PORT:-30909}"
DIR="${PROMETHEUS_DIR:-.run/prometheus}"
CONFIG="${PROMETHEUS_CONFIG:-deploy/prometheus/prometheus.yml}"
PID_FILE="$DIR/prometheus.pid"
log() { printf '[prometheus] %s\n' "$*" >&2; }
die() { printf '[prometheus] error: %s\n' "$*" >&2; exit 1; }

running() { [ -f "$PID_FILE" ] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null; }
ready() { curl -fsS --max-time 2 "http://127.0.0.1:$PORT/-/ready" >/dev/null 2>&1; }

up() {
    command -v prometheus >/dev/null || die "prometheus is not installed (Debian: apt-get install prometheus; scripts/services.sh packages installs it)"
    mkdir -p "$DIR/data" .run/prometheus/targets
    if running; then
        log "already running (pid $(cat "$PID_FILE")) on 127.0.0.1:$PORT"
    else
        prometheus --config.file="$CONFIG" --storage.tsdb.path="$DIR/data" \
            --storage.tsdb.retention.time="${PROMETHEUS_RETENTION:-15d}" \
            --web.listen-address="127.0.0.1:$PORT" --web.enable-remote-write-receiver \
            >"$DIR/prometheus.log" 2>&1 &
        echo $! >"$PID_FILE"
        for _ in $(seq 1 300); do
            ready && break
            running || die "prometheus exited at start; see $DIR/prometheus.log: $(tail -3 "$DIR/prometheus.log")"
            sleep 0.1
        done
        ready || die "prometheus did not become ready in 30 s; see $DIR/prometheus.log"
        log "ready on http://127.0.0.1:$PORT (pid $(cat "$PID_FILE"))"
    fi
    echo "remote write: --prometheus-remote-write http://127.0.0.1:$PORT/api/v1/write"
}

down() {
    if running; then
        local pid; pid="$(cat "$PID_FILE")"
        kill -TERM "$pid"
        for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
        log "stopped (pid $pid)"
    fi
    rm -f "$PID_FILE"
}

case "${1:-up}" in
    up) up ;;
    down) down ;;
    status) if running && ready; then echo "running on 127.0.0.1:$PORT (pid $(cat "$PID_FILE"))"; else echo "not running"; exit 1; fi ;;
    *) die "usage: scripts/prometheus.sh up|down|status" ;;
esac
