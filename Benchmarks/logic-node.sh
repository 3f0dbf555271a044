#!/usr/bin/env bash
# BENCHMARKS.md "Redis mode: the logic node alone": the posts-only load through a node with the
# ingest and logic roles on CPU 0, its viewers on a push node, with one redis-server (no
# persistence, flushed before each run) and the bench on CPU 1. Prints the logic node's CPU per
# accepted post, once per binary given, alternating them RUNS times.
# Usage: Benchmarks/logic-node.sh OUTDIR [RUNS] [DANMAKU_BINARY...]   (default: .build/release/danmaku)
#   BENCH_ARGS: more danmaku-bench arguments (e.g. "--publishers 1 --in-flight 1").
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?output directory}; shift
runs=${1:-2}; [ $# -gt 0 ] && shift
binaries=("$@")
[ ${#binaries[@]} -gt 0 ] || binaries=("$PWD/.build/release/danmaku")
mkdir -p "$out"
[ -n "${SKIP_BUILD:-}" ] || { swift build -c release --product danmaku >/dev/null; swift build -c release --product danmaku-bench >/dev/null; }
bench=$PWD/.build/release/danmaku-bench
redis_port=7390 logic_port=7401 push_port=7402
limits=(--user-rate 1000000/1000000 --ip-rate 1000000/1000000 --room-rate 1000000/1000000 --duplicate-window 0 --max-connections-per-ip 0)
nodes=()
redis_pid=
stop_nodes() {
    for pid in "${nodes[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${nodes[@]}"; do wait "$pid" 2>/dev/null || true; done
    nodes=()
}
trap 'stop_nodes; [ -z "$redis_pid" ] || { kill "$redis_pid"; wait "$redis_pid"; } 2>/dev/null || true' EXIT
wait_for() { for _ in $(seq 200); do curl -s -o /dev/null "http://127.0.0.1:$1/healthz" && return; sleep 0.05; done; echo "port $1 never answered" >&2; exit 1; }

# FLUSHALL below: never against a Redis this script did not start.
if redis-cli -p $redis_port ping >/dev/null 2>&1; then echo "logic-node.sh: port $redis_port is taken" >&2; exit 1; fi
taskset -c 1 redis-server --port $redis_port --bind 127.0.0.1 --save "" --appendonly no >"$out/redis.log" 2>&1 &
redis_pid=$!
for _ in $(seq 100); do redis-cli -p $redis_port ping >/dev/null 2>&1 && break; sleep 0.05; done
kill -0 "$redis_pid" 2>/dev/null && redis-cli -p $redis_port ping >/dev/null 2>&1 || { echo "logic-node.sh: redis-server did not start (see $out/redis.log)" >&2; exit 1; }

block=0
for run in $(seq "$runs"); do
    for binary in "${binaries[@]}"; do
        block=$((block + 1))
        label=$(basename "$binary")-$run
        redis-cli -p $redis_port flushall >/dev/null
        taskset -c 0 "$binary" serve --roles ingest,logic --bus "redis://127.0.0.1:$redis_port" --port $logic_port \
            --log-level warning "${limits[@]}" >"$out/$label-logic.log" 2>&1 &
        logic=$!
        taskset -c 1 "$binary" serve --roles push --bus "redis://127.0.0.1:$redis_port" --port $push_port \
            --log-level warning "${limits[@]}" >"$out/$label-push.log" 2>&1 &
        push=$!
        nodes=($logic $push)
        wait_for $logic_port; wait_for $push_port
        taskset -c 1 "$bench" --url "http://127.0.0.1:$logic_port" --viewer-url "http://127.0.0.1:$push_port" --server-pid $logic \
            --scenario posts --rooms 16 --duration 10 --warmup 2 --source-ips "127.0.$((120 + block)).1-127.0.$((120 + block)).16" \
            ${BENCH_ARGS:-} --json "$out/$label.json" >"$out/$label.txt" 2>"$out/$label.progress" || true
        stop_nodes
        python3 - "$out/$label.json" "$label" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(f"{sys.argv[2]:28} {r.get('acceptedPerSecond') or 0:8.0f} posts/s  logic node {r.get('serverCPUPercent') or 0:5.0f} %  "
      f"{r.get('serverMicrosecondsPerPost') or 0:7.1f} µs/post  post p50 {r.get('postLatencyMicroseconds', {}).get('p50', 0) / 1000:.2f} ms  "
      f"missing {r['missing'] + r['duplicated']}")
PY
    done
done
