# Helpers for the distributed-mode benchmarks (sourced by Benchmarks/cluster.sh).

# start_redis_single DIR PORT CPUS [FSYNC]: one redis-server with the production settings (append-only
# file, fsync on every write; FSYNC everysec for once a second). Sets redis_pids and redis_url.
start_redis_single() {
    local dir=$1 port=$2 cpus=$3 fsync=${4:-always}
    mkdir -p "$dir/redis"
    taskset -c "$cpus" redis-server --port "$port" --bind 127.0.0.1 --dir "$dir/redis" --save "" \
        --appendonly yes --appendfsync "$fsync" >"$dir/redis.log" 2>&1 &
    redis_pids=($!)
    redis_master_pids=($!)
    for _ in $(seq 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.05; done
    redis_url=redis://127.0.0.1:$port
}

# start_redis_cluster DIR BASEPORT CPUS: three masters with a replica each, the same settings,
# joined with redis-cli --cluster create. Sets redis_pids, redis_master_pids and redis_url.
start_redis_cluster() {
    local dir=$1 base=$2 cpus=$3 nodes=() index port
    redis_pids=()
    for index in 0 1 2 3 4 5; do
        port=$((base + index))
        mkdir -p "$dir/redis-$index"
        taskset -c "$cpus" redis-server --port "$port" --bind 127.0.0.1 --dir "$dir/redis-$index" --save "" \
            --appendonly yes --appendfsync always --cluster-enabled yes --cluster-node-timeout 5000 \
            >"$dir/redis-$index.log" 2>&1 &
        redis_pids+=($!)
        nodes+=("127.0.0.1:$port")
        for _ in $(seq 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.05; done
    done
    redis-cli --cluster create "${nodes[@]}" --cluster-replicas 1 --cluster-yes >"$dir/redis-create.log" 2>&1
    local ok
    for _ in $(seq 300); do
        ok=0
        for index in 0 1 2 3 4 5; do redis-cli -p $((base + index)) cluster info | grep -q cluster_state:ok && ok=$((ok + 1)); done
        [ "$ok" = 6 ] && break
        sleep 0.1
    done
    redis_master_pids=()
    for index in 0 1 2 3 4 5; do
        redis-cli -p $((base + index)) info replication | grep -q role:master && redis_master_pids+=("${redis_pids[$index]}")
    done
    redis_url=redis://127.0.0.1:$base
}

# stop_redis: SIGTERM to every redis-server started, then wait.
stop_redis() {
    for pid in "${redis_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${redis_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}

# cpu_seconds PID...: user + system CPU the processes used so far, in seconds.
cpu_seconds() {
    local total=0 pid ticks
    ticks=$(getconf CLK_TCK)
    for pid in "$@"; do
        total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat")))
    done
    awk -v t="$total" -v k="$ticks" 'BEGIN { printf "%.3f\n", t / k }'
}

# rss_kib PID...: resident memory of the processes, KiB.
rss_kib() {
    local total=0 pid
    for pid in "$@"; do total=$((total + $(awk '/VmRSS/ {print $2}' "/proc/$pid/status"))); done
    echo "$total"
}

# wait_healthy PORT...: until each node answers /healthz.
wait_healthy() {
    local port
    for port in "$@"; do
        for _ in $(seq 400); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.05; done
    done
}
