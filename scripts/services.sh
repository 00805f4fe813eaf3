#!/usr/bin/env bash
# Happening's local services: PostgreSQL 15, Redis 7, RabbitMQ and the offline Razorpay gateway on 127.0.0.1,
# data under .run/.
#
#   scripts/services.sh up|down|status|restart [postgres|redis|rabbitmq|gateway ...]
#   scripts/services.sh packages      only install the Debian packages (the build's -dev libraries included)
#
# The gateway (happening-offline-razorpay, payments simulated) starts only once it is built (`make build` or
# `make release`; both start it); it sends webhooks to the dev server on 127.0.0.1:5000.
#
# With no service names every service is meant. `up` is idempotent (a running service is left alone),
# `down` stops only what this script started in this run directory. `up` also writes `.run/env`
# (DATABASE_URL, DATABASE_URL_TEST, REDIS_URL, AMQP_URL) and creates the databases `happening` and
# `happening_test` with init.sql applied to both.
#
# Overrides (for a second checkout, or a throw-away instance in tests). A port given once is kept in
# $RUN/ports for later runs; when a port is held by another checkout's service, `up` says which process and
# data directory hold it and which variable moves this one.
#   HAPPENING_RUN_DIR  run directory            (default <repo>/.run)
#   PG_PORT            PostgreSQL port          (default 30432)
#   REDIS_PORT         Redis port               (default 30379)
#   AMQP_PORT          RabbitMQ AMQP port       (default 30672; +1 dist, +2 epmd, +10..+20 CLI)
#   GATEWAY_PORT       offline gateway port     (default 30790)
#
# The defaults sit below Linux's ephemeral ports (32768–60999), so an outgoing connection can never hold one when a
# service (re)starts under load, and apart from each other's side ports (RabbitMQ's CLI binds AMQP_PORT+10…+20; the
# gateway's old 55690 was inside that range and inside the ephemeral range, and a CI run's gateway once failed to
# bind it). Tests start their own servers on 20,000–29,999 (Tests/TestSupport/TestPorts.swift).
#   SKIP_SCHEMA=1      do not create databases / apply init.sql
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUN="${HAPPENING_RUN_DIR:-$ROOT/.run}"
# Ports chosen for this run directory before (PG_PORT=… scripts/services.sh up once) are kept in $RUN/ports.
# A port given in the environment wins over the kept one.
if [ -f "$RUN/ports" ]; then
    while IFS='=' read -r name value; do
        # The old defaults (55432, 56379, 55672, 55690) were kept here by every `up`: they move to the new ones.
        case "$value" in 55432|56379|55672|55690) continue;; esac
        case "$name" in PG_PORT|REDIS_PORT|AMQP_PORT|GATEWAY_PORT) [ -n "${!name:-}" ] || printf -v "$name" '%s' "$value";; esac
    done <"$RUN/ports"
fi
PG_PORT="${PG_PORT:-30432}"
REDIS_PORT="${REDIS_PORT:-30379}"
AMQP_PORT="${AMQP_PORT:-30672}"
GATEWAY_PORT="${GATEWAY_PORT:-30790}"
PG_BIN="/usr/lib/postgresql/15/bin"
RMQ_BIN="/usr/lib/rabbitmq/bin"
DB_USER="happening"
DB_PASSWORD="happening"

log() { printf '[services] %s\n' "$*" >&2; }
die() { printf '[services] error: %s\n' "$*" >&2; exit 1; }

is_root() { [ "$(id -u)" = "0" ]; }

# ---------------------------------------------------------------- packages
ensure_packages() {
    local wanted=(postgresql postgresql-contrib redis-server rabbitmq-server
                  libpq-dev libhiredis-dev librabbitmq-dev libcurl4-openssl-dev libssl-dev
                  libsnappy-dev   # Prometheus remote write bodies are snappy-compressed
                  prometheus      # the remote-write test and make prometheus start Debian's Prometheus
                  nginx           # the TLS and HTTP/2 tests serve files from a test-made nginx (never the system's)
                  libxml2-utils)  # xmllint: the tests validate the Bench's JUnit files against Tests/junit.xsd
    local missing=()
    for p in "${wanted[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ "${#missing[@]}" -eq 0 ] && return 0
    local sudo=""
    if ! is_root; then
        if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo="sudo -n"; else
            die "missing Debian packages: ${missing[*]} (install them, or run as root)"
        fi
    fi
    log "installing ${missing[*]}"
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

# ---------------------------------------------------------------- ports held by someone else
# Who listens on 127.0.0.1:PORT: "pid N (command), data in DIR", or nothing when the port is free. The data
# directory is the process's working directory (PostgreSQL and Redis run in theirs) or, for RabbitMQ, its
# RABBITMQ_MNESIA_BASE.
port_holder() {
    local port="$1" line pid cmd dir
    line=$(ss -ltnpH "sport = :$port" 2>/dev/null | head -1) || true
    [ -n "$line" ] || return 0
    pid=$(sed -n 's/.*pid=\([0-9]*\).*/\1/p' <<<"$line")
    cmd=$(sed -n 's/.*(("\([^"]*\)".*/\1/p' <<<"$line")
    [ -n "$pid" ] || { echo "a process this user cannot see"; return 0; }
    dir=$(tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | sed -n 's/^RABBITMQ_MNESIA_BASE=//p' | head -1)
    [ -n "$dir" ] || dir=$(readlink "/proc/$pid/cwd" 2>/dev/null || true)
    echo "pid $pid (${cmd:-?})${dir:+, data in $dir}"
}

# Fails, saying who holds the port and which variable moves this instance, when PORT is taken by a process
# that is not this run directory's own service.
ensure_port_free() {
    local name="$1" port="$2" variable="$3" holder
    holder=$(port_holder "$port")
    [ -z "$holder" ] && return 0
    die "$name: 127.0.0.1:$port is already held by $holder, not by this checkout's $RUN.
    Another checkout's services? Use them, stop them there (scripts/services.sh down in that checkout), or move
    this one: $variable=<free port> scripts/services.sh up (this checkout keeps the port in $RUN/ports from then on)."
}

# ---------------------------------------------------------------- PostgreSQL
PG_DIR="$RUN/postgres"
PG_DATA="$PG_DIR/data"

# Runs a command as the user that owns the PostgreSQL cluster (postgres when we are root).
as_pg() {
    if is_root; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_running() { [ -f "$PG_DATA/postmaster.pid" ] && as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1; }

psql_super() { as_pg psql -h "$PG_DIR" -p "$PG_PORT" -U postgres -v ON_ERROR_STOP=1 -q "$@"; }

pg_up() {
    mkdir -p "$PG_DIR"
    if is_root; then chown postgres:postgres "$PG_DIR"; fi
    chmod 700 "$PG_DIR"
    # The postgres user must be able to reach the run directory.
    if is_root; then chmod o+x "$RUN"; fi
    if [ ! -f "$PG_DATA/PG_VERSION" ]; then
        log "postgres: initdb in $PG_DATA"
        as_pg "$PG_BIN/initdb" -D "$PG_DATA" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
            -E UTF8 --locale=C.UTF-8 >"$PG_DIR/initdb.log" 2>&1 || { cat "$PG_DIR/initdb.log" >&2; die "initdb failed"; }
    fi
    if pg_running; then
        log "postgres: already running on 127.0.0.1:$PG_PORT"
    else
        ensure_port_free postgres "$PG_PORT" PG_PORT
        log "postgres: starting on 127.0.0.1:$PG_PORT"
        as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_DIR/server.log" -w -t 60 \
            -o "-p $PG_PORT -k $PG_DIR -c listen_addresses=127.0.0.1 -c max_connections=500 -c shared_buffers=256MB -c fsync=on" \
            start >/dev/null || { tail -20 "$PG_DIR/server.log" >&2; die "postgres did not start"; }
    fi
    psql_super -d postgres -c "DO \$\$ BEGIN
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$DB_USER') THEN
            CREATE ROLE $DB_USER LOGIN CREATEDB PASSWORD '$DB_PASSWORD';
        END IF; END \$\$;"
    # Our own cluster: put the geo extensions (which need a superuser) in template1, so every database
    # created later, including the tests' scratch databases, has them.
    psql_super -d template1 -c "SET client_min_messages = warning; CREATE EXTENSION IF NOT EXISTS cube; CREATE EXTENSION IF NOT EXISTS earthdistance; CREATE EXTENSION IF NOT EXISTS pg_trgm;"
    [ "${SKIP_SCHEMA:-0}" = "1" ] && return 0
    local db
    for db in happening happening_test; do
        if ! psql_super -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1; then
            log "postgres: creating database $db"
            psql_super -d postgres -c "CREATE DATABASE $db OWNER $DB_USER"
        fi
        # Extensions need a superuser; init.sql repeats them with IF NOT EXISTS.
        psql_super -d "$db" -c "SET client_min_messages = warning; CREATE EXTENSION IF NOT EXISTS cube; CREATE EXTENSION IF NOT EXISTS earthdistance; CREATE EXTENSION IF NOT EXISTS pg_trgm;"
        PGPASSWORD="$DB_PASSWORD" PGOPTIONS="-c client_min_messages=warning" psql -h 127.0.0.1 -p "$PG_PORT" -U "$DB_USER" -d "$db" \
            -v ON_ERROR_STOP=1 -q -f "$ROOT/init.sql" >/dev/null || die "init.sql failed on $db"
    done
    log "postgres: schema applied to happening and happening_test"
}

pg_down() {
    if pg_running; then
        log "postgres: stopping"
        as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w stop >/dev/null
    fi
}

pg_status() { if pg_running; then echo "postgres  up    127.0.0.1:$PG_PORT"; else echo "postgres  down"; fi; }

# ---------------------------------------------------------------- Redis
REDIS_DIR="$RUN/redis"

redis_running() { redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG; }

redis_up() {
    mkdir -p "$REDIS_DIR"
    if redis_running && [ -f "$REDIS_DIR/redis.pid" ] && kill -0 "$(cat "$REDIS_DIR/redis.pid")" 2>/dev/null; then
        log "redis: already running on 127.0.0.1:$REDIS_PORT"; return 0
    fi
    ensure_port_free redis "$REDIS_PORT" REDIS_PORT
    log "redis: starting on 127.0.0.1:$REDIS_PORT"
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$REDIS_DIR" --daemonize yes \
        --pidfile "$REDIS_DIR/redis.pid" --logfile "$REDIS_DIR/redis.log" \
        --save "" --appendonly no --maxclients 2000 --maxmemory 1gb --maxmemory-policy allkeys-lru >/dev/null
    for _ in $(seq 1 100); do redis_running && return 0; sleep 0.1; done
    tail -20 "$REDIS_DIR/redis.log" >&2; die "redis did not start"
}

redis_down() {
    # Only stop the server this run directory started (its pid file is ours).
    if [ -f "$REDIS_DIR/redis.pid" ] && kill -0 "$(cat "$REDIS_DIR/redis.pid")" 2>/dev/null; then
        log "redis: stopping"
        redis-cli -h 127.0.0.1 -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
        for _ in $(seq 1 50); do [ -f "$REDIS_DIR/redis.pid" ] && kill -0 "$(cat "$REDIS_DIR/redis.pid")" 2>/dev/null || break; sleep 0.1; done
    fi
}

redis_status() { if redis_running; then echo "redis     up    127.0.0.1:$REDIS_PORT"; else echo "redis     down"; fi; }

# ---------------------------------------------------------------- RabbitMQ
RMQ_DIR="$RUN/rabbitmq"

rmq_env() {
    export HOME="$RMQ_DIR/home"
    export RABBITMQ_NODENAME="happening-$AMQP_PORT@localhost"
    export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
    export RABBITMQ_NODE_PORT="$AMQP_PORT"
    export RABBITMQ_DIST_PORT=$((AMQP_PORT + 1))
    export ERL_EPMD_PORT=$((AMQP_PORT + 2))
    export ERL_EPMD_ADDRESS=127.0.0.1
    export RABBITMQ_CTL_DIST_PORT_MIN=$((AMQP_PORT + 10))
    export RABBITMQ_CTL_DIST_PORT_MAX=$((AMQP_PORT + 20))
    export RABBITMQ_MNESIA_BASE="$RMQ_DIR/mnesia"
    export RABBITMQ_LOG_BASE="$RMQ_DIR/log"
    export RABBITMQ_PID_FILE="$RMQ_DIR/rabbitmq.pid"
    export RABBITMQ_CONFIG_FILE="$RMQ_DIR/rabbitmq.conf"
    export RABBITMQ_ENABLED_PLUGINS_FILE="$RMQ_DIR/enabled_plugins"
    export RABBITMQ_ADVANCED_CONFIG_FILE="$RMQ_DIR/advanced.config"
}

rmq_ping() { (rmq_env; cd "$RMQ_DIR" && "$RMQ_BIN/rabbitmq-diagnostics" -q -n "$RABBITMQ_NODENAME" ping >/dev/null 2>&1); }

rmq_up() {
    mkdir -p "$RMQ_DIR/home" "$RMQ_DIR/log" "$RMQ_DIR/mnesia"
    # The node name follows the port, so another checkout's broker on this port answers the ping too: it is
    # ours only if it keeps its data in our run directory.
    if rmq_ping && [[ "$(port_holder "$AMQP_PORT")" == *"data in $RMQ_DIR/mnesia"* ]]; then
        log "rabbitmq: already running on 127.0.0.1:$AMQP_PORT"; return 0
    fi
    ensure_port_free rabbitmq "$AMQP_PORT" AMQP_PORT
    cat >"$RMQ_DIR/rabbitmq.conf" <<EOF
listeners.tcp.default = 127.0.0.1:$AMQP_PORT
loopback_users.guest = true
disk_free_limit.absolute = 50MB
vm_memory_high_watermark.relative = 0.4
EOF
    echo "[]." >"$RMQ_DIR/enabled_plugins"
    echo "[]." >"$RMQ_DIR/advanced.config"
    log "rabbitmq: starting on 127.0.0.1:$AMQP_PORT"
    # -detached exits 0 even when the node crashes, so readiness is checked below, never the exit code.
    (rmq_env; cd "$RMQ_DIR" && "$RMQ_BIN/rabbitmq-server" -detached >/dev/null 2>&1) || true
    local ok=0
    for _ in $(seq 1 120); do if rmq_ping; then ok=1; break; fi; sleep 0.5; done
    [ "$ok" = 1 ] || { tail -30 "$RMQ_DIR"/log/*.log >&2 2>/dev/null || true; die "rabbitmq did not start (see $RMQ_DIR/log)"; }
    # await_startup can answer rabbit_is_not_running while the node is still coming up: ask again.
    ok=0
    for _ in $(seq 1 30); do
        if (rmq_env; cd "$RMQ_DIR" && "$RMQ_BIN/rabbitmqctl" -q -n "$RABBITMQ_NODENAME" await_startup --timeout 60 >/dev/null 2>&1); then ok=1; break; fi
        sleep 1
    done
    [ "$ok" = 1 ] || { tail -30 "$RMQ_DIR"/log/*.log >&2 2>/dev/null || true; die "rabbitmq did not finish booting"; }
}

rmq_down() {
    if [ -f "$RMQ_DIR/rabbitmq.pid" ] && rmq_ping; then
        log "rabbitmq: stopping"
        (rmq_env; cd "$RMQ_DIR" && "$RMQ_BIN/rabbitmqctl" -q -n "$RABBITMQ_NODENAME" stop "$RABBITMQ_PID_FILE" >/dev/null 2>&1) || true
    fi
    # epmd outlives the node unless told to go; it is ours because it listens on our own port.
    (rmq_env; epmd -kill >/dev/null 2>&1) || true
}

rmq_status() { if rmq_ping; then echo "rabbitmq  up    127.0.0.1:$AMQP_PORT"; else echo "rabbitmq  down"; fi; }

# ---------------------------------------------------------------- offline Razorpay gateway
gateway_pid() { cat "$RUN/gateway/gateway.pid" 2>/dev/null || true; }
gateway_running() { local pid; pid=$(gateway_pid); [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; }

gateway_up() {
    if gateway_running; then log "gateway: already running on 127.0.0.1:$GATEWAY_PORT"; return; fi
    local binary=""
    for candidate in "$ROOT/.build/release/happening-offline-razorpay" "$ROOT/.build/debug/happening-offline-razorpay"; do
        [ -x "$candidate" ] && { binary="$candidate"; break; }
    done
    if [ -z "$binary" ]; then log "gateway: not built yet (make build or make release start it)"; return; fi
    mkdir -p "$RUN/gateway"
    GATEWAY_PORT="$GATEWAY_PORT" GATEWAY_WEBHOOK_URL="${GATEWAY_WEBHOOK_URL:-http://127.0.0.1:5000/api/payments/webhook}" \
        nohup "$binary" >"$RUN/gateway/gateway.log" 2>&1 &
    echo $! >"$RUN/gateway/gateway.pid"
    for _ in $(seq 1 50); do
        curl -sf "http://127.0.0.1:$GATEWAY_PORT/_sim/webhooks" >/dev/null 2>&1 && { log "gateway: started on 127.0.0.1:$GATEWAY_PORT (payments simulated)"; return; }
        sleep 0.1
    done
    # A convenience for development: the other services stay up, and the failure is said.
    log "gateway: did not answer within 5 s (see $RUN/gateway/gateway.log); payments will be unavailable"
}

gateway_down() {
    local pid; pid=$(gateway_pid)
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill "$pid"; log "gateway: stopped"; fi
    rm -f "$RUN/gateway/gateway.pid"
}

gateway_status() { if gateway_running; then echo "gateway   up    127.0.0.1:$GATEWAY_PORT"; else echo "gateway   down"; fi; }

# ---------------------------------------------------------------- env file
write_env() {
    # A JWT secret for local runs, made once and kept (tokens survive server restarts).
    [ -s "$RUN/jwt_secret" ] || { head -c 48 /dev/urandom | base64 | tr -d '/+=\n' >"$RUN/jwt_secret"; chmod 600 "$RUN/jwt_secret"; }
    cat >"$RUN/env" <<EOF
# Written by scripts/services.sh; source it to talk to the local services.
export DATABASE_URL=postgres://$DB_USER:$DB_PASSWORD@127.0.0.1:$PG_PORT/happening
export DATABASE_URL_TEST=postgres://$DB_USER:$DB_PASSWORD@127.0.0.1:$PG_PORT/happening_test
export REDIS_URL=redis://127.0.0.1:$REDIS_PORT
export AMQP_URL=amqp://guest:guest@127.0.0.1:$AMQP_PORT/%2f
export HAPPENING_RUN_DIR=$RUN
export JWT_SECRET=$(cat "$RUN/jwt_secret")
# This is a development stack: payments are simulated by the offline gateway and the seeder gives accounts the
# published dev password. The server refuses both without DEV_MODE=1 (never set it in production).
export DEV_MODE=1
EOF
    # The server and worker find the offline gateway at 127.0.0.1:30790 unless told otherwise: with another
    # GATEWAY_PORT they must be told, or their payment calls reach whatever (or nothing) listens on 30790.
    if [ "$GATEWAY_PORT" != 30790 ]; then
        echo "export RAZORPAY_BASE_URL=http://127.0.0.1:$GATEWAY_PORT" >>"$RUN/env"
    fi
}

# ---------------------------------------------------------------- main
cmd="${1:-status}"; shift || true
services=("$@")
[ "${#services[@]}" -eq 0 ] && services=(postgres redis rabbitmq gateway)
for s in "${services[@]}"; do
    case "$s" in postgres|redis|rabbitmq|gateway) ;; *) die "unknown service '$s' (postgres, redis, rabbitmq, gateway)";; esac
done

case "$cmd" in
    up)
        ensure_packages
        mkdir -p "$RUN"
        for s in "${services[@]}"; do
            case "$s" in postgres) pg_up;; redis) redis_up;; rabbitmq) rmq_up;; gateway) gateway_up;; esac
        done
        write_env
        printf 'PG_PORT=%s\nREDIS_PORT=%s\nAMQP_PORT=%s\nGATEWAY_PORT=%s\n' "$PG_PORT" "$REDIS_PORT" "$AMQP_PORT" "$GATEWAY_PORT" >"$RUN/ports"
        log "ready; environment in $RUN/env"
        ;;
    packages)
        ensure_packages
        ;;
    down)
        for s in "${services[@]}"; do
            case "$s" in postgres) pg_down;; redis) redis_down;; rabbitmq) rmq_down;; gateway) gateway_down;; esac
        done
        ;;
    restart)
        for s in "${services[@]}"; do
            case "$s" in postgres) pg_down; pg_up;; redis) redis_down; redis_up;; rabbitmq) rmq_down; rmq_up;; gateway) gateway_down; gateway_up;; esac
        done
        ;;
    status)
        for s in "${services[@]}"; do
            case "$s" in postgres) pg_status;; redis) redis_status;; rabbitmq) rmq_status;; gateway) gateway_status;; esac
        done
        ;;
    *) die "usage: $0 up|down|status|restart [postgres|redis|rabbitmq|gateway ...] | packages";;
esac
