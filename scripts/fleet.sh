#!/usr/bin/env bash
# make fleet: the generator fleet rehearsed for real on this machine. Network namespaces joined by veth pairs on one
# bridge make the hosts (10.77.0.0/24, nothing outside them):
#   hf-server 10.77.0.2   HAProxy (Debian's, HTTP mode, :8080; several processes on one SO_REUSEPORT port) in front
#                         of two happening-servers
#   hf-svc    10.77.0.3   PostgreSQL, Redis, RabbitMQ (their own data under .run/fleet/services; HAProxy forwards
#                         their ports from 10.77.0.3 to their loopback) and three happening-workers
#   hf-gen0…3 10.77.0.10… four generator hosts, one shard each (FLEET_SHARDS_PER_HOST): happening-bench --shard I/4,
#                         one --start-at
# The setup runs once (happening-bench setup), the shards fire a flash sale of FLEET_USERS (40,000) users
# at FLEET_TICKETS (100) tickets together, and happening-bench merge checks the ledger once over all of them.
#
# Why several HAProxy processes: a process may hold `ulimit -Hn` descriptors (20,000 in this sandbox, which lacks
# CAP_SYS_RESOURCE to raise it), and HAProxy takes one per client connection and one per server connection.
#
# The hosts share this machine's cores, which a fleet's hosts do not: at the firing instant the server tier (HAProxy,
# the servers) wakes with the first requests and competes with the generators that have not yet fired. So the
# generator hosts' processes run at FLEET_GENERATOR_PRIORITY: `realtime` by default (chrt -f 1, SCHED_FIFO: a core
# whenever they have work, as on hosts of their own; the kernel's real-time throttling still leaves 5 % to the rest),
# or a nice value (0: equal footing), with FLEET_THREADS (1) load loop per shard: fewer threads to wake at one instant.
# The start skew is measured either way and reported with the setting it was measured under.
# Results: results/fleet.{md,json} and the merged reports. Everything is torn down at the end, also on failure
# or Ctrl-C (the trap), and a left-over network from an interrupted run is removed first.
#
#   make fleet                        # or scripts/fleet.sh
#   FLEET_USERS=8000 scripts/fleet.sh # smaller; SKIP_BUILD=1 reuses .build/release
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
USERS="${FLEET_USERS:-40000}"; TICKETS="${FLEET_TICKETS:-100}"; LEAD="${FLEET_LEAD_SECONDS:-30}"
GENERATORS=4; SHARDS_PER_HOST="${FLEET_SHARDS_PER_HOST:-1}"; SHARDS=$((GENERATORS * SHARDS_PER_HOST)); BALANCERS="${FLEET_BALANCERS:-6}"
THREADS="${FLEET_THREADS:-1}"; export FLEET_GENERATOR_PRIORITY="${FLEET_GENERATOR_PRIORITY:-realtime}" FLEET_THREADS="$THREADS"
if [ "$FLEET_GENERATOR_PRIORITY" = realtime ] && ! chrt -f 1 true 2>/dev/null; then
    echo "== no real-time scheduling here (chrt -f needs CAP_SYS_NICE): the generators run at nice 0"
    FLEET_GENERATOR_PRIORITY=0
fi
case "$FLEET_GENERATOR_PRIORITY" in
    realtime) PRIORITY=(chrt -f 1) ;;                      # SCHED_FIFO 1: a core whenever it has work, like a host of its own
    -[0-9]* | [0-9]*) PRIORITY=(nice -n "$FLEET_GENERATOR_PRIORITY") ;;
    *) echo "== FLEET_GENERATOR_PRIORITY: realtime or a nice value, not '$FLEET_GENERATOR_PRIORITY'" >&2; exit 2 ;;
esac
WORK="$PWD/.run/fleet"; BRIDGE=hfleet0; NET=10.77.0
[ "$(id -u)" = 0 ] || { echo "== make fleet makes network namespaces: run it as root" >&2; exit 1; }
require_tool ip iproute2; require_tool haproxy haproxy
HOSTS=(server svc gen0 gen1 gen2 gen3)

teardown() {
    for host in "${HOSTS[@]}"; do
        ip netns pids "hf-$host" 2>/dev/null | xargs -r kill -TERM 2>/dev/null || true
    done
    if ip netns list 2>/dev/null | grep -q '^hf-svc'; then
        ip netns exec hf-svc env HAPPENING_RUN_DIR="$WORK/services" bash scripts/services.sh down postgres redis rabbitmq >/dev/null 2>&1 || true
    fi
    sleep 1
    for host in "${HOSTS[@]}"; do
        ip netns pids "hf-$host" 2>/dev/null | xargs -r kill -KILL 2>/dev/null || true
        ip netns del "hf-$host" 2>/dev/null || true
    done
    ip link del "$BRIDGE" 2>/dev/null || true
}
teardown  # what an interrupted run may have left
trap 'teardown; echo "== fleet: torn down"' EXIT
trap 'echo "== fleet: interrupted"; exit 130' INT TERM

release_build "$WORK" happening-server happening-worker happening-seed happening-bench
rm -rf "$WORK/setup" "$WORK"/shard-* "$WORK/merged" "$WORK/logs"; mkdir -p "$WORK/logs"

# on HOST COMMAND...: run COMMAND on a host.
on() { local host="$1"; shift; ip netns exec "hf-$host" "$@"; }
echo "== network: bridge $BRIDGE, hosts ${HOSTS[*]}"
ip link add "$BRIDGE" type bridge && ip link set "$BRIDGE" up
address=(2 3 10 11 12 13)
for index in "${!HOSTS[@]}"; do
    host="${HOSTS[$index]}"
    ip netns add "hf-$host"
    ip link add "hf-$host" type veth peer name eth0 netns "hf-$host"
    ip link set "hf-$host" master "$BRIDGE" up
    on "$host" ip addr add "$NET.${address[$index]}/24" dev eth0
    on "$host" ip link set eth0 up
    on "$host" ip link set lo up
    # Each host's own kernel settings: every ephemeral port, deep accept queues.
    on "$host" sysctl -qw net.ipv4.ip_local_port_range="1024 65000" net.core.somaxconn=65535 net.ipv4.tcp_max_syn_backlog=65535
done
ulimit -n "$(ulimit -Hn)"
echo "   descriptors per process: $(ulimit -n); $((USERS / SHARDS)) connections per shard, $((USERS / BALANCERS)) per HAProxy process"

echo "== services on hf-svc ($NET.3)"
on svc env HAPPENING_RUN_DIR="$WORK/services" bash scripts/services.sh up postgres redis rabbitmq >"$WORK/logs/services.log" 2>&1 \
    || { tail -20 "$WORK/logs/services.log"; exit 1; }
. "$WORK/services/env"
remote() { printf '%s' "$1" | sed "s/127\.0\.0\.1/$NET.3/"; }
REMOTE_DB="$(remote "$DATABASE_URL")"; REMOTE_REDIS="$(remote "$REDIS_URL")"; REMOTE_AMQP="$(remote "$AMQP_URL")"
ports() { printf '%s\n' "$DATABASE_URL" "$REDIS_URL" "$AMQP_URL" | sed -E 's#.*:([0-9]+)(/.*)?$#\1#'; }
{
    printf 'global\n    maxconn 2000\ndefaults\n    mode tcp\n    timeout connect 5s\n    timeout client 1h\n    timeout server 1h\n'
    for port in $(ports); do printf 'listen svc-%s\n    bind %s.3:%s\n    server local 127.0.0.1:%s\n' "$port" "$NET" "$port" "$port"; done
} >"$WORK/svc-haproxy.cfg"
on svc haproxy -D -f "$WORK/svc-haproxy.cfg" -p "$WORK/svc-haproxy.pid"

QUEUE="fleet_$$"
echo "== three workers on hf-svc, two servers behind HAProxy on hf-server ($NET.2:8080)"
for i in 1 2 3; do
    on svc env DATABASE_URL="$DATABASE_URL" REDIS_URL="$REDIS_URL" AMQP_URL="$AMQP_URL" BOOKING_QUEUE="$QUEUE" LOG_LEVEL=error \
        "$BIN/happening-worker" run --strategy for-update --prefetch 50 --concurrency 4 --reconcile-interval 0 >"$WORK/logs/worker-$i.log" 2>&1 &
done
for port in 5001 5002; do
    on server env HOST=127.0.0.1 PORT="$port" DATABASE_URL="$REMOTE_DB" REDIS_URL="$REMOTE_REDIS" AMQP_URL="$REMOTE_AMQP" JWT_SECRET="$JWT_SECRET" \
        BOOKING_QUEUE="$QUEUE" LOG_LEVEL=error LISTEN_BACKLOG=65535 BOOKING_RATE_LIMIT_PER_MINUTE=0 \
        "$BIN/happening-server" >"$WORK/logs/server-$port.log" 2>&1 &
done
# HTTP mode: the client connections stay at HAProxy and their requests share at most 400 connections per server and
# process (queued meanwhile), as a load balancer in front of a sale would; SO_REUSEPORT spreads the clients.
cat >"$WORK/server-haproxy.cfg" <<CFG
global
    maxconn 9000
defaults
    mode http
    option http-keep-alive
    http-reuse always
    timeout connect 5s
    timeout client 5m
    timeout server 5m
    timeout queue 2m
    timeout http-keep-alive 5m
frontend happening
    bind $NET.2:8080 backlog 65535
    maxconn 9000
    default_backend servers
backend servers
    balance roundrobin
    server s1 127.0.0.1:5001 maxconn 400
    server s2 127.0.0.1:5002 maxconn 400
CFG
for b in $(seq 1 "$BALANCERS"); do on server haproxy -D -f "$WORK/server-haproxy.cfg" -p "$WORK/server-haproxy-$b.pid"; done
for port in 5001 5002; do on server bash -c "$(declare -f wait_healthy); wait_healthy http://127.0.0.1:$port/api/health 120"; done
on gen0 bash -c "$(declare -f wait_healthy); wait_healthy http://$NET.2:8080/api/health 60"

BENCH_ENV=(env DATABASE_URL="$REMOTE_DB" JWT_SECRET="$JWT_SECRET")
echo "== setup once on hf-gen0: $USERS users' tokens, a flash sale of $TICKETS tickets"
on gen0 "${BENCH_ENV[@]}" "$BIN/happening-bench" setup scenarios/flash-sale.yaml --dir "$WORK/setup" --set users="$USERS" \
    --set tickets="$TICKETS" --progress lines | tail -2
START_AT="$(date -u -d "+$LEAD seconds" +%Y-%m-%dT%H:%M:%SZ)"
echo "== $SHARDS shards of $((USERS / SHARDS)) users, $SHARDS_PER_HOST on each of hf-gen0…3 ($THREADS load loop each, priority $FLEET_GENERATOR_PRIORITY), all firing at $START_AT"
shard_pids=()
for i in $(seq 0 $((SHARDS - 1))); do
    on "gen$((i % GENERATORS))" "${PRIORITY[@]}" "${BENCH_ENV[@]}" "$BIN/happening-bench" run scenarios/flash-sale.yaml \
        --target "http://$NET.2:8080" --setup-dir "$WORK/setup" --allow-host "$NET.2" --shard "$i/$SHARDS" --start-at "$START_AT" \
        --threads "$THREADS" --run-id "fleet-$$" --progress lines --out "$WORK/shard-$i" >"$WORK/logs/shard-$i.log" 2>&1 &
    shard_pids+=($!)
done
failed=0
for i in "${!shard_pids[@]}"; do wait "${shard_pids[$i]}" || { failed=1; echo "== shard $i failed:"; tail -5 "$WORK/logs/shard-$i.log"; }; done
for i in $(seq 0 $((SHARDS - 1))); do grep -E "intake:" "$WORK/logs/shard-$i.log" | sed "s/^/   shard $i: /" || true; done

echo "== merge on hf-gen0 (the ledger checked once, over every shard's accepted bookings)"
status=0
on gen0 "${BENCH_ENV[@]}" "$BIN/happening-bench" merge "$WORK"/shard-*/*.json --out results/runs --junit "$WORK/merged-junit.xml" | tee "$WORK/merge.out" || status=$?
merged="$(grep -oE 'results/[^ ,]*flash-sale\.json' "$WORK/merge.out" | tail -1)"
[ -n "$merged" ] && "$BIN/happening-bench" report fleet "$merged" --work "$WORK" --users "$USERS" --tickets "$TICKETS" \
    --commit "$(git rev-parse --short HEAD)" --priority "$FLEET_GENERATOR_PRIORITY" --threads "$THREADS" --descriptor-limit "$(ulimit -n)"
[ "$failed" = 0 ] && [ "$status" = 0 ] || { echo "== fleet: FAILED"; exit 1; }
echo "== fleet: passed"
