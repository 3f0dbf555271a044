#!/usr/bin/env bash
# A Danmaku cluster on loopback in one command: Redis, 2 ingest/logic nodes and 3 push nodes.
# Ctrl-C (or SIGTERM) stops every process it started, push nodes first (viewers get close 1001).
#
# Usage: Deploy/local-cluster.sh [--release] [--base-port 7100] [--cpus LIST] [--redis-cluster] [-- extra danmaku serve flags]
#   API (posts):  http://127.0.0.1:BASE+1, BASE+2      Viewers (WebSocket): ws://127.0.0.1:BASE+11..13
#   Redis:        redis://127.0.0.1:BASE+79 (append-only file fsynced on every write, in a temp dir)
#   --redis-cluster: a Redis Cluster instead, as production runs one: 3 masters + 3 replicas on
#                 BASE+80..85, TLS only (clients, replication and cluster bus; a CA made here with
#                 openssl), a password (DANMAKU_BUS_PASSWORD), and the nodes with --bus-min-replicas 1.
#   DANMAKU_BIN=path uses an existing binary instead of building one.
set -euo pipefail
cd "$(dirname "$0")/.."

configuration=debug
base=7100
cpus=""
redis_cluster=0
extra=()
while [ $# -gt 0 ]; do
    case $1 in
    --release) configuration=release ;;
    --base-port) base=$2; shift ;;
    --cpus) cpus=$2; shift ;;
    --redis-cluster) redis_cluster=1 ;;
    --) shift; extra=("$@"); break ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
    esac
    shift
done

bin=${DANMAKU_BIN:-}
if [ -z "$bin" ]; then
    swift build -c "$configuration" --product danmaku >&2
    bin=.build/$configuration/danmaku
fi
command -v redis-server >/dev/null || { echo "redis-server is not installed (Debian: apt-get install redis-server)" >&2; exit 1; }

pin=()
[ -n "$cpus" ] && pin=(taskset -c "$cpus")
data=$(mktemp -d)
logs=$data/logs
mkdir -p "$logs"
pids=()
push_pids=()

stopping=0
stop() {
    trap - INT TERM EXIT
    stopping=1
    echo "stopping..." >&2
    # Push nodes first, so viewers get their close frame; then the API nodes; Redis last.
    for pid in "${push_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${push_pids[@]}" "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    for pid in "${redis_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${redis_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$data"
    echo "stopped" >&2
}
trap stop INT TERM EXIT

redis_pids=()
node_env=()
bus_flags=()
if [ "$redis_cluster" = 0 ]; then
    redis_port=$((base + 79))
    "${pin[@]}" redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$data" --save "" \
        --appendonly yes --appendfsync always >"$logs/redis.log" 2>&1 &
    redis_pids+=($!)
    for _ in $(seq 100); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.05; done
    bus=redis://127.0.0.1:$redis_port
else
    command -v openssl >/dev/null || { echo "--redis-cluster needs openssl" >&2; exit 1; }
    certs=$data/certs
    mkdir -p "$certs"
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=danmaku-local-ca \
        -keyout "$certs/ca.key" -out "$certs/ca.crt" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj /CN=redis -keyout "$certs/redis.key" -out "$certs/redis.csr" 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$certs/ext.cnf"
    openssl x509 -req -in "$certs/redis.csr" -CA "$certs/ca.crt" -CAkey "$certs/ca.key" -CAcreateserial -days 2 \
        -extfile "$certs/ext.cnf" -out "$certs/redis.crt" 2>/dev/null
    password=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
    tls=(--tls-cert-file "$certs/redis.crt" --tls-key-file "$certs/redis.key" --tls-ca-cert-file "$certs/ca.crt")
    cli=(redis-cli --tls --cacert "$certs/ca.crt" -a "$password" --no-auth-warning)
    nodes=()
    for index in 0 1 2 3 4 5; do
        port=$((base + 80 + index))
        mkdir -p "$data/redis-$index"
        "${pin[@]}" redis-server --port 0 --tls-port "$port" "${tls[@]}" --tls-auth-clients no \
            --tls-cluster yes --tls-replication yes --bind 127.0.0.1 --dir "$data/redis-$index" --save "" \
            --appendonly yes --appendfsync always --requirepass "$password" --masterauth "$password" \
            --cluster-enabled yes --cluster-node-timeout 2000 >"$logs/redis-$index.log" 2>&1 &
        redis_pids+=($!)
        nodes+=("127.0.0.1:$port")
        for _ in $(seq 100); do "${cli[@]}" -p "$port" ping >/dev/null 2>&1 && break; sleep 0.05; done
    done
    "${cli[@]}" --cluster create "${nodes[@]}" --cluster-replicas 1 --cluster-yes >"$logs/redis-create.log" 2>&1
    for _ in $(seq 200); do
        "${cli[@]}" -p $((base + 80)) cluster info 2>/dev/null | grep -q cluster_state:ok && break
        sleep 0.1
    done
    bus=rediss://127.0.0.1:$((base + 80))
    node_env=(env DANMAKU_BUS_PASSWORD="$password")
    bus_flags=(--bus-tls-ca "$certs/ca.crt" --bus-min-replicas 1)
fi

start_node() {  # NAME PORT ROLES; started in this shell, so that it can wait for the node
    "${node_env[@]}" "${pin[@]}" "$bin" serve --port "$2" --roles "$3" --bus "$bus" "${bus_flags[@]}" --node-name "$1" "${extra[@]}" >"$logs/$1.log" 2>&1 &
}
for index in 1 2; do start_node "api-$index" $((base + index)) ingest,logic; pids+=($!); done
for index in 1 2 3; do start_node "push-$index" $((base + 10 + index)) push; push_pids+=($!); done
# Ready, not merely up: with --redis-cluster the ingest nodes answer /readyz 200 only once every
# master has a replica in sync, so the first post after the banner is not refused for want of one.
for port in $((base + 1)) $((base + 2)) $((base + 11)) $((base + 12)) $((base + 13)); do
    for attempt in $(seq 600); do
        curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
        if [ "$attempt" = 600 ]; then
            echo "the node on port $port is not ready after 30 s: $(curl -s "http://127.0.0.1:$port/readyz")" >&2
            exit 1
        fi
        sleep 0.05
    done
done

cat <<INFO
Danmaku cluster is up (logs in $logs):
  redis        $bus
  post         curl -X POST -H 'Content-Type: application/json' -d '{"text":"hello"}' http://127.0.0.1:$((base + 1))/v1/rooms/lobby/comments
               (or http://127.0.0.1:$((base + 2)); both number comments in the same sequence)
  watch        ws://127.0.0.1:$((base + 11))/v1/rooms/lobby/ws   (also :$((base + 12)), :$((base + 13)))
  metrics      http://127.0.0.1:$((base + 1))/metrics
Press Ctrl-C to stop everything.
INFO
wait -n "${pids[@]}" "${push_pids[@]}" "${redis_pids[@]}" || true
if [ "$stopping" = 0 ]; then
    echo "a process of the cluster exited unexpectedly; its log:" >&2
    tail -n 20 "$logs"/*.log >&2 || true
fi
