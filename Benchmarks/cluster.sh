#!/usr/bin/env bash
# The distributed mode's benchmarks.
#
#   Benchmarks/cluster.sh w1 OUTDIR LABEL [danmaku-bench flags…]
#       One room over Redis, 1 ingest/logic + 2 push nodes (Benchmarks/cluster-w1.sh).
#   Benchmarks/cluster.sh bus OUTDIR [RATE]
#       Bus throughput: accepted comments/s and Redis CPU per comment through one Redis server,
#       then through a Redis Cluster of 3 masters + 3 replicas. 300 rooms, no viewers, two
#       ingest/logic nodes, each loaded by its own danmaku-bench offering RATE/2 comments/s
#       (default 20000 in all). Redis and the nodes on CPU 0, the benches on CPU 1.
#   Benchmarks/cluster.sh w5 OUTDIR
#       W5: 100,000 viewers over 6 push nodes on a 3-master Redis Cluster, loaded by 6
#       danmaku-bench processes (16,670 viewers each in 10 rooms, 2 comments/s per bench (W5_RATE),
#       connecting 250 viewers/s each (W5_CONNECT_RATE)).
#       Server side on CPU 0, benches on CPU 1. Every viewer checks every seq of its room.
#
# Each step's figures go to OUTDIR (JSON from danmaku-bench, a summary .txt).
set -euo pipefail
[ -n "${TRACE:-}" ] && set -x
cd "$(dirname "$0")/.."
mode=${1:?w1, bus or w5}; shift
if [ "$mode" = w1 ]; then exec Benchmarks/cluster-w1.sh "$@"; fi
out=${1:?output directory}; shift
mkdir -p "$out"
. Benchmarks/redis-processes.sh
swift build -c release --product danmaku >/dev/null
swift build -c release --product danmaku-bench >/dev/null
bin=$PWD/.build/release/danmaku
bench=$PWD/.build/release/danmaku-bench
wide=(--user-rate 1000000/1000000 --ip-rate 1000000/1000000 --room-rate 1000000/1000000 --duplicate-window 0
      --read-rate 1000000/1000000 --max-connections-per-ip 0 --log-level warning --threads 1)
data=$(mktemp -d)
node_pids=()
redis_pids=()
cleanup() {
    for pid in "${node_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${node_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    stop_redis
    rm -rf "$data"
}
trap cleanup EXIT

# start_node NAME PORT ROLES: a node on CPU 0 on the current redis_url.
start_node() {
    taskset -c 0 "$bin" serve --port "$2" --roles "$3" --bus "$redis_url" --node-name "$1" "${wide[@]}" >"$out/$1.log" 2>&1 &
    node_pids+=($!)
}

# total_comments PREFIX ROOMS: comments numbered in rooms PREFIX-0…, summed from their counters.
total_comments() {
    local prefix=$1 rooms=$2 sum=0 room value
    for room in $(seq 0 $((rooms - 1))); do
        value=$(redis-cli -c -p "${redis_url##*:}" get "danmaku:{$prefix-$room}:seq")
        sum=$((sum + ${value:-0}))
    done
    echo "$sum"
}

bus() {
    local rate=${1:-20000} setup label before after comments seconds start
    for setup in single cluster; do
        label=bus-$setup
        node_pids=()
        if [ "$setup" = single ]; then start_redis_single "$data/$setup" 7379 0; else start_redis_cluster "$data/$setup" 7380 0; fi
        start_node api-1 7301 ingest,logic
        start_node api-2 7302 ingest,logic
        wait_healthy 7301 7302
        before=$(cpu_seconds "${redis_pids[@]}")
        local masters_before api_before
        masters_before=$(cpu_seconds "${redis_master_pids[@]}")
        api_before=$(cpu_seconds "${node_pids[@]}")
        start=$(date +%s.%N)
        local benches=()
        for index in 1 2; do
            taskset -c 1 "$bench" --url "http://127.0.0.1:730$index" --rooms 150 --viewers 0 --rate $((rate / 2)) \
                --room-prefix "$setup$index" --duration "${DURATION:-15}" --warmup 3 --json "$out/$label-$index.json" \
                >"$out/$label-$index.txt" 2>"$out/$label-$index.progress" &
            benches+=($!)
        done
        for pid in "${benches[@]}"; do wait "$pid" || true; done
        seconds=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { print e - s }')
        after=$(cpu_seconds "${redis_pids[@]}")
        local masters_after api_after
        masters_after=$(cpu_seconds "${redis_master_pids[@]}")
        api_after=$(cpu_seconds "${node_pids[@]}")
        comments=$(( $(total_comments "${setup}1" 150) + $(total_comments "${setup}2" 150) ))
        python3 - "$out" "$label" "$before" "$after" "$comments" "$seconds" "${#redis_master_pids[@]}" \
            "$masters_before" "$masters_after" "$api_before" "$api_after" <<'PY' | tee "$out/$label.txt"
import json, sys
out, label, before, after, comments, seconds, masters, masters_before, masters_after, api_before, api_after = sys.argv[1:]
reports = [json.load(open(f"{out}/{label}-{i}.json")) for i in (1, 2)]
accepted = sum(r.get("acceptedPerSecond", 0) for r in reports)
offered = sum(r.get("offeredCommentsPerSecond", 0) for r in reports)
p99 = max(r.get("postLatencyMicroseconds", {}).get("p99", 0) for r in reports) / 1000
cpu = float(after) - float(before)
print(f"{label}: masters {masters}, accepted {accepted:,.0f}/s (offered {offered:,.0f}/s), post p99 {p99:.1f} ms")
n = max(1, int(comments))
master_cpu = float(masters_after) - float(masters_before)
api_cpu = float(api_after) - float(api_before)
print(f"  {int(comments):,} comments in {float(seconds):.1f} s; CPU per comment: redis {cpu / n * 1e6:.1f} us in all (masters {master_cpu / n * 1e6:.1f} us, replicas {(cpu - master_cpu) / n * 1e6:.1f} us), ingest/logic nodes {api_cpu / n * 1e6:.1f} us")
PY
        for pid in "${node_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
        for pid in "${node_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
        stop_redis
    done
}

w5() {
    local index ports=() urls=() push_pids=()
    start_redis_cluster "$data/w5" 7380 0
    start_node api-1 7301 ingest,logic
    for index in 1 2 3 4 5 6; do
        start_node "push-$index" $((7310 + index)) push
        push_pids+=("${node_pids[-1]}")
        ports+=($((7310 + index)))
        urls+=(--viewer-url "http://127.0.0.1:$((7310 + index))")
    done
    wait_healthy 7301 "${ports[@]}"
    local idle_rss
    idle_rss=$(rss_kib "${push_pids[@]}")
    local benches=()
    for index in 1 2 3 4 5 6; do
        taskset -c 1 "$bench" --url http://127.0.0.1:7301 "${urls[@]}" --rooms 10 --viewers 1667 --rate "${W5_RATE:-2}" \
            --room-prefix "w5-$index" --duration 30 --warmup 5 --connect-rate "${W5_CONNECT_RATE:-250}" --threads 1 \
            --source-ips "127.0.$((10 + index)).1-127.0.$((10 + index)).16" --json "$out/w5-$index.json" \
            >"$out/w5-$index.txt" 2>"$out/w5-$index.progress" &
        benches+=($!)
    done
    # The push nodes' memory once everyone is connected (the benches connect, then post).
    sleep $((16670 / ${W5_CONNECT_RATE:-250} + 15))
    local loaded_rss
    loaded_rss=$(rss_kib "${push_pids[@]}")
    for pid in "${benches[@]}"; do wait "$pid" || true; done
    python3 - "$out" "$idle_rss" "$loaded_rss" <<'PY' | tee "$out/w5.txt"
import json, sys
out, idle, loaded = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
reports = [json.load(open(f"{out}/w5-{i}.json")) for i in range(1, 7)]
viewers = sum(r.get("connectionsOK", 0) for r in reports)
failed = sum(r.get("connectionsFailed", 0) + r.get("connectionsClosedEarly", 0) for r in reports)
deliveries = sum(r.get("deliveriesPerSecond", 0) for r in reports)
lost = sum(r.get("missing", 0) for r in reports)
dup = sum(r.get("duplicated", 0) for r in reports)
p99 = max(r.get("latencyMicroseconds", {}).get("p99", 0) for r in reports) / 1000
p50 = max(r.get("latencyMicroseconds", {}).get("p50", 0) for r in reports) / 1000
passed = all(r["missing"] == 0 and r["duplicated"] == 0 and r["connectionsFailed"] == 0 and r["connectionsClosedEarly"] == 0 for r in reports)
saturated = [r.get("benchCPUPercent") for r in reports]
print(f"w5: {viewers:,} viewers over 6 push nodes, {deliveries:,.0f} deliveries/s, lost {lost}, duplicated {dup}")
print(f"  connections failed or closed early {failed}; {'PASS' if passed else 'FAIL'}; bench CPU % {saturated}")
print(f"  latency p50 {p50:.0f} ms (worst bench), p99 {p99:.0f} ms (worst bench)")
print(f"  push nodes' RSS: {idle / 1024:.1f} MiB idle, {loaded / 1024:.1f} MiB with the viewers: {(loaded - idle) * 1024 / max(1, viewers):,.0f} bytes per connection")
PY
}

"$mode" "$@"
