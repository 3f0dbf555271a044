#!/usr/bin/env bash
# A Danmaku cluster on loopback in one command: Redis, 2 ingest/logic nodes and 3 push nodes.
# Ctrl-C (or SIGTERM) stops every process it started, push nodes first (viewers get close 1001).
#
# Usage: Deploy/local-cluster.sh [--release] [--base-port 7100] [--cpus LIST] [-- extra danmaku serve flags]
#   API (posts):  http://127.0.0.1:BASE+1, BASE+2      Viewers (WebSocket): ws://127.0.0.1:BASE+11..13
#   Redis:        redis://127.0.0.1:BASE+79 (append-only file fsynced on every write, in a temp dir)
#   DANMAKU_BIN=path uses an existing binary instead of building one.
set -euo pipefail
cd "$(dirname "$0")/.."

configuration=debug
base=7100
cpus=""
extra=()
while [ $# -gt 0 ]; do
    case $1 in
    --release) configuration=release ;;
    --base-port) base=$2; shift ;;
    --cpus) cpus=$2; shift ;;
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
    redis-cli -p "$redis_port" shutdown >/dev/null 2>&1 || true
    wait "$redis_pid" 2>/dev/null || true
    rm -rf "$data"
    echo "stopped" >&2
}
trap stop INT TERM EXIT

redis_port=$((base + 79))
"${pin[@]}" redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$data" --save "" \
    --appendonly yes --appendfsync always >"$logs/redis.log" 2>&1 &
redis_pid=$!
for _ in $(seq 100); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.05; done
bus=redis://127.0.0.1:$redis_port

start_node() {  # NAME PORT ROLES; started in this shell, so that it can wait for the node
    "${pin[@]}" "$bin" serve --port "$2" --roles "$3" --bus "$bus" --node-name "$1" "${extra[@]}" >"$logs/$1.log" 2>&1 &
}
for index in 1 2; do start_node "api-$index" $((base + index)) ingest,logic; pids+=($!); done
for index in 1 2 3; do start_node "push-$index" $((base + 10 + index)) push; push_pids+=($!); done
for port in $((base + 1)) $((base + 2)) $((base + 11)) $((base + 12)) $((base + 13)); do
    for _ in $(seq 200); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.05; done
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
wait -n "${pids[@]}" "${push_pids[@]}" "$redis_pid" || true
if [ "$stopping" = 0 ]; then
    echo "a process of the cluster exited unexpectedly; its log:" >&2
    tail -n 20 "$logs"/*.log >&2 || true
fi
