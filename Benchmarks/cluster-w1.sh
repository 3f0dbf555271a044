#!/usr/bin/env bash
# The one-room scenario on a cluster: Redis, 1 ingest/logic node and 2 push nodes, all pinned to
# CPU 0; danmaku-bench on CPU 1 posts to the ingest node and spreads viewers over the push nodes.
# Usage: Benchmarks/cluster.sh w1 OUTDIR LABEL [danmaku-bench flags...] (or Benchmarks/cluster-w1.sh OUTDIR LABEL …)
#   e.g. Benchmarks/cluster-w1.sh /tmp/out cluster-w1 --viewers 10000 --rate 200
#        WINDOW=0 Benchmarks/cluster-w1.sh /tmp/out cluster-w1-naive --viewers 10000 --rate 200
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?output directory}; label=${2:?label}; shift 2
mkdir -p "$out"
swift build -c release --product danmaku >/dev/null
swift build -c release --product danmaku-bench >/dev/null
bin=.build/release/danmaku
window=${WINDOW:-10}
data=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    redis-cli -p 7279 shutdown nosave >/dev/null 2>&1 || true
    rm -rf "$data"
}
trap cleanup EXIT
taskset -c 0 redis-server --port 7279 --bind 127.0.0.1 --dir "$data" --save "" --appendonly yes --appendfsync always \
    >"$out/$label.redis.log" 2>&1 &
for _ in $(seq 100); do redis-cli -p 7279 ping >/dev/null 2>&1 && break; sleep 0.05; done
wide=(--user-rate 1000000/1000000 --ip-rate 1000000/1000000 --room-rate 1000000/1000000 --duplicate-window 0
      --max-connections-per-ip 0 --batch-window-ms "$window" --bus redis://127.0.0.1:7279 --log-level warning --threads 1)
taskset -c 0 "$bin" serve --port 7201 --roles ingest,logic "${wide[@]}" >"$out/$label.api.log" 2>&1 & pids+=($!)
taskset -c 0 "$bin" serve --port 7211 --roles push "${wide[@]}" >"$out/$label.push1.log" 2>&1 & pids+=($!)
taskset -c 0 "$bin" serve --port 7212 --roles push "${wide[@]}" >"$out/$label.push2.log" 2>&1 & pids+=($!)
for port in 7201 7211 7212; do
    for _ in $(seq 200); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.05; done
done
echo "== $label: window $window ms, $*" | tee "$out/$label.txt"
taskset -c 1 .build/release/danmaku-bench --url http://127.0.0.1:7201 \
    --viewer-url http://127.0.0.1:7211 --viewer-url http://127.0.0.1:7212 --server-pid "${pids[1]}" \
    --scenario one-room --source-ips 127.0.9.1-127.0.9.16 --json "$out/$label.json" "$@" \
    2>"$out/$label.progress" | tee -a "$out/$label.txt" || true
# Redis's own count of the commands it ran, for the bus cost.
redis-cli -p 7279 info commandstats | grep -E "spublish|evalsha|ssubscribe" | tee -a "$out/$label.txt" || true
