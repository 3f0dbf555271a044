#!/usr/bin/env bash
# A million viewers in one room, on this one machine (issue 29).
#
#   Benchmarks/million.sh [--viewers N] [--viewers-per-node N] [--rate R] [--post-seconds S]
#                         [--hold S] [--connect-rate R] [--recovery-seconds S] [--outdir DIR]
#                         [--build release|debug] [--tune] [--check]
#
# or the same as environment variables: VIEWERS (1000000), VIEWERS_PER_NODE (19000), RATE (10
# comments/s), POST_SECONDS (60), HOLD (600 s), CONNECT_RATE (2000 joins/s in all),
# RECOVERY_SECONDS (30), OUTDIR (a new temporary directory), BUILD (release), BASE_PORT (7400:
# the ingest node; push nodes from BASE_PORT+1, Redis on BASE_PORT-1), RECONNECT_DELAY_MS (250: a dropped viewer's
# first wait, 0.5-1.5 times that at random, doubling per failed attempt), SKIP_BUILD (set: use the
# binaries built).
#
# What it starts: one redis-server (append-only file, appendfsync everysec), one ingest/logic node
# (danmaku serve --roles ingest,logic --bus redis://…) and ceil(VIEWERS / VIEWERS_PER_NODE) push
# nodes (--roles push --threads 1), all on CPU 0; push node i is filled by danmaku-bench process i
# on CPU 1 (VIEWERS_PER_NODE viewers each, the last one the rest), which connects from its own
# 127.1.x.y source addresses and knows every other push node as a place to come back to
# (--reconnect-url). When the other nodes could not take a killed node's viewers under the
# open-files limit, one more push node is started empty, a spare that only takes viewers coming
# back. A separate danmaku-bench with no viewers posts; the others only watch (--rate 0), and learn
# where the room ended from the ingest node when they are told to finish (SIGUSR1, --until-signal).
#
# Phases:
#   1. connect every viewer, paced at CONNECT_RATE joins/s in all;
#   2. hold them for HOLD seconds; in the first POST_SECONDS of it, post RATE comments/s;
#   3. post RATE comments/s for RECOVERY_SECONDS more; 2 s in, kill -9 push node 1 (its
#      VIEWERS_PER_NODE viewers come back to the other nodes with ?since=SEQ&epoch=E, after a
#      jittered backoff: danmaku-bench --reconnect); time until all are back;
#   4. tell the benches to finish: each waits until every viewer has the room's last seq.
# Every viewer checks every seq (--verify-every 1). Figures go to OUTDIR: million.txt (summary),
# million.json, each bench's and node's output. The exit status is 1 when any comment was missing
# or duplicated, a viewer closed other than by the kill, or a killed node's viewer did not come
# back; 2 when the preflight refuses.
#
# Machine settings it checks (and prints) before starting anything, refusing with the command that
# fixes what is short (--tune runs those commands, as root, then checks again):
#   - ulimit -n ≥ VIEWERS_PER_NODE + 1000 and ≥ 20000 (each push node and each bench holds up to
#     VIEWERS_PER_NODE sockets; the soft limit is raised to the hard one when that is enough);
#     fs.nr_open ≥ the same;
#   - fs.file-max ≥ 2 × VIEWERS + 65536 minus what is open now (every viewer is two sockets on this
#     box: the bench's and the push node's);
#   - net.core.somaxconn ≥ 4096 (the push nodes' accept backlog; viewers coming back arrive at once);
#   - net.ipv4.ip_local_port_range: ports × source addresses per bench ≥ 2 × VIEWERS_PER_NODE
#     (a bench binds its sockets to ADDRESSES_PER_BENCH loopback addresses, ports given out per
#     address: room for every viewer twice, as a drop and its comeback overlap);
#   - net.ipv4.tcp_mem: its pressure threshold ≥ VIEWERS × TCP_PAGES_PER_VIEWER pages (socket
#     buffers in flight while a batch goes out; past the threshold the kernel squeezes buffers,
#     past the maximum it drops);
#   - net.netfilter.nf_conntrack_max ≥ 2 × VIEWERS when connection tracking is on in this network
#     namespace (a loopback connection is tracked too);
#   - MemAvailable ≥ VIEWERS × MEMORY_PER_VIEWER_KB + PROCESS_KB per push node and bench + 2 GiB
#     (the push nodes' and the benches' memory per viewer and the kernel's sockets on both ends,
#     measured at 20,000-40,000 viewers, and each process's own);
#   - two CPUs, and the ports free.
set -euo pipefail
[ -n "${TRACE:-}" ] && set -x
cd "$(dirname "$0")/.."

VIEWERS=${VIEWERS:-1000000}
VIEWERS_PER_NODE=${VIEWERS_PER_NODE:-19000}
RATE=${RATE:-10}
POST_SECONDS=${POST_SECONDS:-60}
HOLD=${HOLD:-600}
CONNECT_RATE=${CONNECT_RATE:-2000}
RECOVERY_SECONDS=${RECOVERY_SECONDS:-30}
RECONNECT_DELAY_MS=${RECONNECT_DELAY_MS:-250}
OUTDIR=${OUTDIR:-}
BUILD=${BUILD:-release}
BASE_PORT=${BASE_PORT:-7400}
TUNE=0
CHECK_ONLY=0
while [ $# -gt 0 ]; do
    case $1 in
        --viewers) VIEWERS=$2; shift 2 ;;
        --viewers-per-node) VIEWERS_PER_NODE=$2; shift 2 ;;
        --rate) RATE=$2; shift 2 ;;
        --post-seconds) POST_SECONDS=$2; shift 2 ;;
        --hold) HOLD=$2; shift 2 ;;
        --connect-rate) CONNECT_RATE=$2; shift 2 ;;
        --recovery-seconds) RECOVERY_SECONDS=$2; shift 2 ;;
        --outdir) OUTDIR=$2; shift 2 ;;
        --build) BUILD=$2; shift 2 ;;
        --tune) TUNE=1; shift ;;
        --check) CHECK_ONLY=1; shift ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "million.sh: unknown argument $1 (--help)" >&2; exit 2 ;;
    esac
done
for name in VIEWERS VIEWERS_PER_NODE POST_SECONDS HOLD RECOVERY_SECONDS RECONNECT_DELAY_MS BASE_PORT; do
    [[ ${!name} =~ ^[0-9]+$ ]] || { echo "million.sh: $name must be a whole number" >&2; exit 2; }
done
for name in RATE CONNECT_RATE; do
    [[ ${!name} =~ ^[0-9]+(\.[0-9]+)?$ ]] || { echo "million.sh: $name must be a number" >&2; exit 2; }
done
awk -v r="$CONNECT_RATE" 'BEGIN {exit !(r >= 1)}' || { echo "million.sh: CONNECT_RATE must be at least 1" >&2; exit 2; }
[ "$BUILD" = release ] || [ "$BUILD" = debug ] || { echo "million.sh: BUILD is release or debug" >&2; exit 2; }
[ "$VIEWERS" -ge 2 ] || { echo "million.sh: VIEWERS must be at least 2" >&2; exit 2; }
[ "$VIEWERS_PER_NODE" -ge 1 ] && [ "$VIEWERS_PER_NODE" -le 19000 ] \
    || { echo "million.sh: VIEWERS_PER_NODE must be 1-19000 (the open-files limit is 20,000 per process)" >&2; exit 2; }
[ "$HOLD" -ge "$POST_SECONDS" ] || { echo "million.sh: HOLD must be at least POST_SECONDS (the posts go out while the viewers are held)" >&2; exit 2; }

# What one viewer costs this machine, all told (push node, bench, kernel sockets on both ends),
# and the TCP buffer pages it holds while a batch is in flight; measured at 20,000-40,000
# viewers (docs/CAPACITY.md), with room to spare.
MEMORY_PER_VIEWER_KB=${MEMORY_PER_VIEWER_KB:-16}
# What a push node or a bench takes before its first viewer (debug build: 50 MB and 26 MB).
PROCESS_KB=${PROCESS_KB:-51200}
TCP_PAGES_PER_VIEWER=${TCP_PAGES_PER_VIEWER:-1}
# Sockets and files a push node or a bench holds besides its viewers.
RESERVE_FILES=500

nodes=$(( (VIEWERS + VIEWERS_PER_NODE - 1) / VIEWERS_PER_NODE ))
# Under the open-files limit, how many viewers a push node can take in all.
node_capacity=$(( 20000 - RESERVE_FILES ))
# Node 1 is killed: its viewers go to the others. Room left on them: the full ones have
# capacity - VIEWERS_PER_NODE each, the last one capacity - what it holds.
last_viewers=$(( VIEWERS - (nodes - 1) * VIEWERS_PER_NODE ))
room_left=$(( (nodes - 2) * (node_capacity - VIEWERS_PER_NODE) + (nodes > 1 ? node_capacity - last_viewers : 0) ))
killed_viewers=$(( nodes > 1 ? VIEWERS_PER_NODE : VIEWERS ))
spares=0
while [ $((room_left + spares * node_capacity)) -lt "$killed_viewers" ]; do spares=$((spares + 1)); done
push_nodes=$((nodes + spares))
redis_port=$((BASE_PORT - 1))
ingest_port=$BASE_PORT

# ---------------------------------------------------------------------------------------------
# Preflight.
short=()
fixes=()
report_setting() { printf '  %-56s %-22s %s\n' "$1" "$2" "$3"; }
need() {
    local name=$1 have=$2 want=$3 fix=$4
    if [ "$have" -ge "$want" ] 2>/dev/null; then
        report_setting "$name" "$have" "ok (need ≥ $want)"
    else
        report_setting "$name" "$have" "SHORT: need ≥ $want"
        short+=("$name")
        [ -n "$fix" ] && fixes+=("$fix")
    fi
    return 0
}
preflight() {
    short=()
    fixes=()
    echo "million.sh: $VIEWERS viewers in one room: $nodes push node(s) of up to $VIEWERS_PER_NODE viewers (the last $last_viewers)$( [ "$spares" -gt 0 ] && echo ", $spares spare(s) for the killed node's viewers"), $nodes bench(es)"
    echo "machine settings:"
    local cpus
    cpus=$(nproc)
    need "CPUs" "$cpus" 2 ""
    local files_needed=$(( VIEWERS_PER_NODE + 1000 > 20000 ? VIEWERS_PER_NODE + 1000 : 20000 ))
    local soft hard
    soft=$(ulimit -Sn)
    hard=$(ulimit -Hn)
    [ "$soft" = unlimited ] && soft=$files_needed
    [ "$hard" = unlimited ] && hard=$files_needed
    if [ "$soft" -lt "$files_needed" ] && [ "$hard" -ge "$files_needed" ]; then
        ulimit -Sn "$files_needed"
        soft=$files_needed
    fi
    need "ulimit -n (open files per process)" "$soft" "$files_needed" "ulimit -n $files_needed   (the hard limit: /etc/security/limits.conf, or LimitNOFILE= for a service)"
    need "fs.nr_open" "$(cat /proc/sys/fs/nr_open)" "$files_needed" "sysctl -w fs.nr_open=$files_needed"
    local file_max open_now files_total
    file_max=$(cat /proc/sys/fs/file-max)
    open_now=$(awk '{print $1}' /proc/sys/fs/file-nr)
    files_total=$(( 2 * VIEWERS + 65536 + open_now ))
    need "fs.file-max" "$file_max" "$files_total" "sysctl -w fs.file-max=$(( files_total * 5 / 4 ))"
    need "net.core.somaxconn" "$(cat /proc/sys/net/core/somaxconn)" 4096 "sysctl -w net.core.somaxconn=4096"
    local low high ports
    read -r low high < /proc/sys/net/ipv4/ip_local_port_range
    ports=$(( high - low + 1 ))
    addresses_per_bench=${ADDRESSES_PER_BENCH:-$(( (2 * VIEWERS_PER_NODE + ports - 1) / ports ))}
    [ "$addresses_per_bench" -ge 1 ] || addresses_per_bench=1
    [ "$addresses_per_bench" -le 254 ] || addresses_per_bench=254
    need "ports ($low-$high) × $addresses_per_bench source address(es) per bench" $(( ports * addresses_per_bench )) $(( 2 * VIEWERS_PER_NODE )) \
        "sysctl -w net.ipv4.ip_local_port_range=\"1024 65535\"   (or ADDRESSES_PER_BENCH=$(( addresses_per_bench + 1 )))"
    local tcp_min tcp_pressure tcp_max pages
    read -r tcp_min tcp_pressure tcp_max < /proc/sys/net/ipv4/tcp_mem
    pages=$(( VIEWERS * TCP_PAGES_PER_VIEWER ))
    need "net.ipv4.tcp_mem pressure (pages)" "$tcp_pressure" "$pages" \
        "sysctl -w net.ipv4.tcp_mem=\"$(( tcp_min > pages / 2 ? tcp_min : pages / 2 )) $(( pages * 3 / 2 )) $(( pages * 2 ))\""
    if [ -r /proc/sys/net/netfilter/nf_conntrack_count ] && [ "$(cat /proc/sys/net/netfilter/nf_conntrack_count)" -gt 0 ]; then
        need "net.netfilter.nf_conntrack_max" "$(cat /proc/sys/net/netfilter/nf_conntrack_max)" $(( 2 * VIEWERS )) \
            "sysctl -w net.netfilter.nf_conntrack_max=$(( 2 * VIEWERS + 65536 ))"
    else
        report_setting "connection tracking" "off in this namespace" "ok"
    fi
    local available memory_needed
    available=$(awk '/^MemAvailable:/ {print $2}' /proc/meminfo)
    memory_needed=$(( VIEWERS * MEMORY_PER_VIEWER_KB + (push_nodes + nodes) * PROCESS_KB + 2 * 1024 * 1024 ))
    need "MemAvailable (KiB)" "$available" "$memory_needed" ""
    local port busy=()
    for port in "$redis_port" $(seq "$ingest_port" $((ingest_port + push_nodes))); do
        if ss -Hltn "sport = :$port" 2>/dev/null | grep -q .; then busy+=("$port"); fi
    done
    if [ ${#busy[@]} -eq 0 ]; then
        report_setting "ports $redis_port-$((ingest_port + push_nodes))" "free" "ok"
    else
        report_setting "ports $redis_port-$((ingest_port + push_nodes))" "in use: ${busy[*]}" "SHORT: set BASE_PORT elsewhere"
        short+=("ports")
    fi
    local tool
    for tool in redis-server redis-cli curl taskset python3 ss swift; do
        command -v "$tool" >/dev/null || { report_setting "$tool" "missing" "SHORT"; short+=("$tool"); }
    done
}

preflight
if [ ${#short[@]} -gt 0 ] && [ "$TUNE" = 1 ] && [ ${#fixes[@]} -gt 0 ]; then
    echo "million.sh: --tune: running the fixes"
    for fix in "${fixes[@]}"; do
        command=${fix%%   (*}
        echo "  $command"
        eval "$command" || true
    done
    preflight
fi
if [ ${#short[@]} -gt 0 ]; then
    echo "million.sh: refusing to start, short: ${short[*]}" >&2
    if [ ${#fixes[@]} -gt 0 ]; then
        echo "fix with (as root), or run again with --tune:" >&2
        printf '  %s\n' "${fixes[@]}" >&2
    fi
    exit 2
fi
[ "$CHECK_ONLY" = 1 ] && exit 0

# ---------------------------------------------------------------------------------------------
# Build, then start the servers.
[ -n "$OUTDIR" ] || OUTDIR=$(mktemp -d -t million.XXXXXX)
mkdir -p "$OUTDIR"
out=$(cd "$OUTDIR" && pwd)
. Benchmarks/redis-processes.sh
if [ -z "${SKIP_BUILD:-}" ]; then
    swift build -c "$BUILD" --product danmaku >/dev/null
    swift build -c "$BUILD" --product danmaku-bench >/dev/null
fi
bin_dir=$(swift build -c "$BUILD" --show-bin-path)
bin=$bin_dir/danmaku
bench=$bin_dir/danmaku-bench
wide=(--user-rate 1000000/1000000 --ip-rate 1000000/1000000 --room-rate 1000000/1000000 --duplicate-window 0
      --read-rate 1000000/1000000 --max-connections-per-ip 0 --log-level warning --threads 1)
data=$(mktemp -d)
redis_pids=()
ingest_pid=
push_pids=()
push_ports=()
bench_pids=()
poster_pid=
cleanup() {
    local pid
    for pid in "${bench_pids[@]}" $poster_pid; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${push_pids[@]}" $ingest_pid; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${bench_pids[@]}" $poster_pid "${push_pids[@]}" $ingest_pid; do wait "$pid" 2>/dev/null || true; done
    stop_redis
    rm -rf "$data"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

now() { date +%s.%N; }
used_memory_kib() { awk '/^MemTotal:/ {t = $2} /^MemAvailable:/ {a = $2} END {print t - a}' /proc/meminfo; }
meminfo_kib() { awk -v k="$1:" '$1 == k {print $2}' /proc/meminfo; }
tcp_pages() { awk '/^TCP:/ {for (i = 1; i < NF; i++) if ($i == "mem") print $(i + 1)}' /proc/net/sockstat; }
# metric_sum NAME PORT...: the sum of a metric's samples (all labels) over the nodes at PORTs.
metric_sum() {
    local name=$1 port
    shift
    for port in "$@"; do
        curl -fs --max-time 10 "http://127.0.0.1:$port/metrics" || true
    done | awk -v n="$name" '$1 == n || index($1, n "{") == 1 {s += $2} END {printf "%.0f\n", s}'
}
elapsed_since() { awk -v s="$1" -v e="$(now)" 'BEGIN {printf "%.1f", e - s}'; }
facts=$out/facts.env
: >"$facts"
fact() { echo "$1=$2" >>"$facts"; }

used_at_start=$(used_memory_kib)
start_redis_single "$data" "$redis_port" 0 everysec
# Redis shares CPU 0 with every push node here; in production it has a machine of its own. Ahead
# of them in the scheduler (when allowed), its answers do not wait behind a storm of their work.
renice -n -10 -p "${redis_pids[@]}" >/dev/null 2>&1 || true
taskset -c 0 "$bin" serve --port "$ingest_port" --roles ingest,logic --bus "$redis_url" --node-name ingest "${wide[@]}" \
    >"$out/ingest.log" 2>&1 &
ingest_pid=$!
for index in $(seq 1 "$push_nodes"); do
    port=$((ingest_port + index))
    taskset -c 0 "$bin" serve --port "$port" --roles push --bus "$redis_url" --node-name "push-$index" "${wide[@]}" \
        >"$out/push-$index.log" 2>&1 &
    push_pids+=($!)
    push_ports+=("$port")
done
wait_healthy "$ingest_port" "${push_ports[@]}"
for port in "$ingest_port" "${push_ports[@]}"; do
    curl -fs "http://127.0.0.1:$port/healthz" >/dev/null || { echo "million.sh: the node on :$port did not come up (see $out)" >&2; exit 1; }
done
sleep 2
push_idle_rss=$(rss_kib "${push_pids[@]}")
used_before=$(used_memory_kib)
slab_before=$(meminfo_kib Slab)
tcp_pages_before=$(tcp_pages)
fact used_at_start_kib "$used_at_start"
fact used_before_kib "$used_before"
fact push_idle_rss_kib "$push_idle_rss"
fact slab_before_kib "$slab_before"

# ---------------------------------------------------------------------------------------------
# Phase 1: connect.
room_prefix=million
bench_connect_rate=$(awk -v r="$CONNECT_RATE" -v n="$nodes" 'BEGIN {printf "%.3f", r / n}')
echo "million.sh: connecting $VIEWERS viewers at $CONNECT_RATE/s ($nodes benches at $bench_connect_rate/s each); output in $out"
connect_start=$(now)
for index in $(seq 1 "$nodes"); do
    viewers=$VIEWERS_PER_NODE
    [ "$index" = "$nodes" ] && viewers=$last_viewers
    urls=(--viewer-url "http://127.0.0.1:${push_ports[$((index - 1))]}")
    for other in $(seq 1 "$push_nodes"); do
        [ "$other" = "$index" ] || urls+=(--reconnect-url "http://127.0.0.1:${push_ports[$((other - 1))]}")
    done
    second=$(( 1 + (index - 1) / 250 ))
    third=$(( 1 + (index - 1) % 250 ))
    taskset -c 1 "$bench" --url "http://127.0.0.1:$ingest_port" "${urls[@]}" --reconnect --until-signal \
        --rooms 1 --viewers "$viewers" --rate 0 --room-prefix "$room_prefix" --warmup 0 --drain-seconds 120 \
        --connect-rate "$bench_connect_rate" --reconnect-delay-ms "$RECONNECT_DELAY_MS" --threads 1 --verify-every 1 \
        --source-ips "127.$second.$third.1-127.$second.$third.$addresses_per_bench" --json "$out/bench-$index.json" \
        >"$out/bench-$index.txt" 2>"$out/bench-$index.progress" &
    bench_pids+=($!)
done
# Half as long again as the pacing takes, and three minutes more.
connect_deadline=$(awk -v now="$(date +%s)" -v n="$VIEWERS" -v r="$CONNECT_RATE" 'BEGIN {printf "%d", now + n / r * 1.5 + 180}')
while :; do
    ready=0
    for index in $(seq 1 "$nodes"); do
        if grep -q '^connected:' "$out/bench-$index.progress" 2>/dev/null; then
            ready=$((ready + 1))
        elif ! kill -0 "${bench_pids[$((index - 1))]}" 2>/dev/null; then
            echo "million.sh: bench $index ended while connecting (see $out/bench-$index.progress)" >&2
            exit 1
        fi
    done
    [ "$ready" = "$nodes" ] && break
    if [ "$(date +%s)" -gt "$connect_deadline" ]; then
        echo "million.sh: only $ready of $nodes benches connected in time" >&2
        exit 1
    fi
    sleep 1
done
# A join the server refused is tried again by its bench after the bench said it connected: the
# push nodes' counts say when every viewer is in, within two minutes more.
join_deadline=$(( $(date +%s) + 120 ))
while joined=$(metric_sum danmaku_viewers "${push_ports[@]}"); [ "$joined" -lt "$VIEWERS" ] && [ "$(date +%s)" -le "$join_deadline" ]; do
    sleep 1
done
connect_seconds=$(elapsed_since "$connect_start")
echo "million.sh: $joined of $VIEWERS viewers joined in $connect_seconds s"
fact connect_seconds "$connect_seconds"
fact joined "$joined"
sleep 5
push_loaded_rss=$(rss_kib "${push_pids[@]}")
bench_rss=$(rss_kib "${bench_pids[@]}")
used_after=$(used_memory_kib)
slab_after=$(meminfo_kib Slab)
fact push_loaded_rss_kib "$push_loaded_rss"
fact bench_rss_kib "$bench_rss"
fact used_after_kib "$used_after"
fact slab_after_kib "$slab_after"
fact tcp_pages_before "$tcp_pages_before"
fact tcp_pages_connected "$(tcp_pages)"
fact push_viewers_connected "$(metric_sum danmaku_viewers "${push_ports[@]}")"
[ -r /proc/sys/net/netfilter/nf_conntrack_count ] && fact conntrack_connected "$(cat /proc/sys/net/netfilter/nf_conntrack_count)"

# ---------------------------------------------------------------------------------------------
# Phase 2: hold, posting for the first POST_SECONDS.
hold_start=$(now)
# post LABEL SECONDS: a danmaku-bench with no viewers posting RATE comments/s to the room, on CPU 1.
post() {
    taskset -c 1 "$bench" --url "http://127.0.0.1:$ingest_port" --rooms 1 --viewers 0 --rate "$RATE" --room-prefix "$room_prefix" \
        --duration "$2" --warmup 0 --threads 1 --json "$out/$1.json" >"$out/$1.txt" 2>"$out/$1.progress" &
    poster_pid=$!
}
deliveries_start=$(metric_sum danmaku_deliveries_total "${push_ports[@]}")
frames_start=$(metric_sum danmaku_frames_total "${push_ports[@]}")
redis_cpu_start=$(cpu_seconds "${redis_pids[@]}")
push_cpu_start=$(cpu_seconds "${push_pids[@]}")
ingest_cpu_start=$(cpu_seconds "$ingest_pid")
bench_cpu_start=$(cpu_seconds "${bench_pids[@]}")
post_start=$(now)
echo "million.sh: holding; posting $RATE comments/s for $POST_SECONDS s"
post poster "$POST_SECONDS"
tcp_pages_peak=0
while kill -0 "$poster_pid" 2>/dev/null; do
    pages=$(tcp_pages)
    [ "$pages" -gt "$tcp_pages_peak" ] && tcp_pages_peak=$pages
    sleep 1
done
wait "$poster_pid" || true
poster_pid=
post_seconds=$(elapsed_since "$post_start")
redis_cpu=$(awk -v a="$redis_cpu_start" -v b="$(cpu_seconds "${redis_pids[@]}")" 'BEGIN {printf "%.3f", b - a}')
accepted=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["commentsAccepted"])' "$out/poster.json")
# Until the push nodes have made every delivery (each viewer each accepted comment), at most 120 s.
expected=$(( deliveries_start + accepted * joined ))
deliver_deadline=$(( $(date +%s) + 120 ))
while :; do
    deliveries_end=$(metric_sum danmaku_deliveries_total "${push_ports[@]}")
    pages=$(tcp_pages)
    [ "$pages" -gt "$tcp_pages_peak" ] && tcp_pages_peak=$pages
    [ "$deliveries_end" -ge "$expected" ] || [ "$(date +%s)" -gt "$deliver_deadline" ] && break
    sleep 0.5
done
delivered_seconds=$(elapsed_since "$post_start")
frames_end=$(metric_sum danmaku_frames_total "${push_ports[@]}")
fact post_seconds "$post_seconds"
fact delivered_seconds "$delivered_seconds"
fact deliveries "$((deliveries_end - deliveries_start))"
fact frames "$((frames_end - frames_start))"
fact redis_cpu_seconds "$redis_cpu"
fact push_cpu_seconds "$(awk -v a="$push_cpu_start" -v b="$(cpu_seconds "${push_pids[@]}")" 'BEGIN {printf "%.3f", b - a}')"
fact ingest_cpu_seconds "$(awk -v a="$ingest_cpu_start" -v b="$(cpu_seconds "$ingest_pid")" 'BEGIN {printf "%.3f", b - a}')"
fact bench_cpu_seconds "$(awk -v a="$bench_cpu_start" -v b="$(cpu_seconds "${bench_pids[@]}")" 'BEGIN {printf "%.3f", b - a}')"
fact tcp_pages_peak "$tcp_pages_peak"
fact slow_consumer_closes "$(metric_sum danmaku_slow_consumer_closes_total "${push_ports[@]}")"
echo "million.sh: $accepted comments accepted; the push nodes made $((deliveries_end - deliveries_start)) deliveries of $((accepted * joined)) in $delivered_seconds s"
while [ "$(awk -v s="$hold_start" -v e="$(now)" -v h="$HOLD" 'BEGIN {print (e - s < h)}')" = 1 ]; do
    sleep 5
    connected=$(metric_sum danmaku_viewers "${push_ports[@]}")
    [ "$connected" -ge "$joined" ] || echo "million.sh: holding: $connected viewers connected of $joined" >&2
done
fact push_viewers_held "$(metric_sum danmaku_viewers "${push_ports[@]}")"
fact hold_seconds "$(elapsed_since "$hold_start")"

# ---------------------------------------------------------------------------------------------
# Phase 3: kill push node 1 while posting; its viewers come back elsewhere.
killed_port=${push_ports[0]}
fact killed_viewers "$(metric_sum danmaku_viewers "$killed_port")"
echo "million.sh: posting $RATE comments/s for $RECOVERY_SECONDS s; killing push node 1 (:$killed_port) 2 s in"
post recovery "$RECOVERY_SECONDS"
sleep 2
kill -9 "${push_pids[0]}"
kill_time=$(date +%s.%N)
wait "${push_pids[0]}" 2>/dev/null || true
push_pids=("${push_pids[@]:1}")
survivors=("${push_ports[@]:1}")
fact kill_unix_seconds "$kill_time"
back_deadline=$(( $(date +%s) + 300 ))
back_seconds=
while [ "$(date +%s)" -le "$back_deadline" ]; do
    if [ "$(metric_sum danmaku_viewers "${survivors[@]}")" -ge "$joined" ]; then
        back_seconds=$(elapsed_since "$kill_time")
        break
    fi
    sleep 0.5
done
fact back_seconds_by_metrics "${back_seconds:-}"
echo "million.sh: the killed node's viewers are back on the others after ${back_seconds:-more than 300} s (by the nodes' counts)"
wait "$poster_pid" || true
poster_pid=
fact push_viewers_end "$(metric_sum danmaku_viewers "${survivors[@]}")"
fact slow_consumer_closes_end "$(metric_sum danmaku_slow_consumer_closes_total "${survivors[@]}")"

# ---------------------------------------------------------------------------------------------
# Phase 4: every bench waits until each of its viewers has the room's last seq, and reports.
echo "million.sh: finishing: every viewer must reach the room's last seq"
for pid in "${bench_pids[@]}"; do kill -USR1 "$pid"; done
bench_failed=0
for pid in "${bench_pids[@]}"; do wait "$pid" || bench_failed=$((bench_failed + 1)); done
bench_pids=()
fact benches_failed "$bench_failed"

set +e
python3 - "$out" "$nodes" "$VIEWERS" "$RATE" "$POST_SECONDS" "$HOLD" "$CONNECT_RATE" "$push_nodes" "$BUILD" <<'PY' | tee "$out/million.txt"
import json, sys
out, benches, viewers, rate, post_seconds, hold, connect_rate, push_nodes, build = sys.argv[1:]
benches, viewers, push_nodes = int(benches), int(viewers), int(push_nodes)
facts = {}
for line in open(f"{out}/facts.env"):
    key, _, value = line.strip().partition("=")
    facts[key] = value
def num(key, default=0.0):
    value = facts.get(key, "")
    return float(value) if value else default
def load(name):
    try:
        return json.load(open(f"{out}/{name}.json"))
    except (OSError, ValueError):
        return None
loaded = {f"bench-{i}": load(f"bench-{i}") for i in range(1, benches + 1)} | {name: load(name) for name in ("poster", "recovery")}
unreported = [name for name, report in loaded.items() if report is None]
reports = [loaded[f"bench-{i}"] for i in range(1, benches + 1) if loaded[f"bench-{i}"]]
posters = [loaded[name] or {"commentsAccepted": 0, "commentsRejected": {}} for name in ("poster", "recovery")]
kib = 1024
accepted = sum(p["commentsAccepted"] for p in posters)
rejected = sum(sum(p["commentsRejected"].values()) for p in posters)
last_seqs = {seq for r in reports for seq in r.get("roomLastSeqs", {}).values()}
last_seq = max(last_seqs) if last_seqs else 0
joined = sum(r["connectionsOK"] for r in reports)
failed = sum(r["connectionsFailed"] for r in reports)
closed = sum(r["connectionsClosedEarly"] for r in reports)
missing = sum(r["missing"] for r in reports)
duplicated = sum(r["duplicated"] for r in reports)
deliveries = sum(r.get("deliveries", 0) for r in reports)
dropped = sum(r.get("dropped") or 0 for r in reports)
rejoined = sum(r.get("rejoined") or 0 for r in reports)
away = sum(r.get("awayAtEnd") or 0 for r in reports)
restarts = sum(r.get("epochRestarts") or 0 for r in reports)
attempts_failed = sum(r.get("reconnectAttemptsFailed") or 0 for r in reports)
unknown_end = sum(r.get("roomsWithoutLastSeq", 0) for r in reports)
killed = int(num("killed_viewers"))
last_rejoin = max((r.get("lastRejoinUnixMicroseconds") or 0 for r in reports), default=0)
reconnect_seconds = (last_rejoin / 1e6 - num("kill_unix_seconds")) if last_rejoin else None
# The benches' latency histograms merged: live comments only (history a comeback read is not timed).
counts = {}
for r in reports:
    for value, count in r.get("latencyRecorded", []):
        counts[value] = counts.get(value, 0) + count
samples = sum(counts.values())
def percentile(p):
    if not samples:
        return None
    rank, seen = p / 100 * samples, 0
    for value in sorted(counts):
        seen += counts[value]
        if seen >= rank:
            return value
used_before, used_after, used_start = num("used_before_kib"), num("used_after_kib"), num("used_at_start_kib")
push_idle, push_loaded, bench_rss = num("push_idle_rss_kib"), num("push_loaded_rss_kib"), num("bench_rss_kib")
# Each bench's own RSS before its viewers connected and once they had joined.
bench_idle = sum(r.get("benchRSSBytesIdle") or 0 for r in reports) / kib
bench_connected = sum(r.get("benchRSSBytesConnected") or 0 for r in reports) / kib
slab_delta = num("slab_after_kib") - num("slab_before_kib")
post_window = num("post_seconds")
delivered_window = num("delivered_seconds")
per = lambda value: value * kib / max(1, joined)
problems = [f"no report from {name}" for name in unreported]
if joined != viewers: problems.append(f"{viewers - joined} viewers never joined")
if failed: problems.append(f"{failed} connections failed")
if closed: problems.append(f"{closed} viewers closed unexpectedly")
if dropped != killed: problems.append(f"{dropped} viewers dropped, the killed node held {killed}")
if away: problems.append(f"{away} viewers still away at the end")
if restarts: problems.append(f"{restarts} comebacks into a new numbering")
if missing: problems.append(f"{missing} missing")
if duplicated: problems.append(f"{duplicated} duplicated")
if unknown_end: problems.append("the room's last seq unknown to a bench")
if rejected: problems.append(f"{rejected} posts refused")
if last_seq != accepted: problems.append(f"the room's last seq is {last_seq}, {accepted} posts were accepted")
if deliveries != joined * last_seq: problems.append(f"{deliveries} deliveries counted by the viewers, {joined} × {last_seq} expected")
if int(num("benches_failed")): problems.append(f"{int(num('benches_failed'))} benches failed")
result = {
    "viewers": viewers, "joined": joined, "pushNodes": push_nodes, "benches": benches, "build": build,
    "commentsPerSecond": float(rate), "postSeconds": float(post_seconds), "holdSeconds": num("hold_seconds"),
    "connectRate": float(connect_rate), "connectSeconds": num("connect_seconds"),
    "pushRSSIdleKiB": push_idle, "pushRSSConnectedKiB": push_loaded,
    "pushRSSPerViewerBytes": per(push_loaded - push_idle),
    "benchRSSKiB": bench_rss, "benchRSSIdleKiB": bench_idle, "benchRSSPerViewerBytes": per(bench_connected - bench_idle),
    "machineUsedAtStartKiB": used_start, "machineUsedBeforeConnectingKiB": used_before, "machineUsedAfterConnectingKiB": used_after,
    "machineUsedPerViewerBytes": per(used_after - used_before), "slabPerViewerBytes": per(slab_delta),
    "tcpMemPagesConnected": num("tcp_pages_connected"), "tcpMemPagesPeakPosting": num("tcp_pages_peak"),
    "commentsAccepted": accepted, "roomLastSeq": last_seq,
    "deliveriesPerSecond": num("deliveries") / delivered_window if delivered_window else None,
    "framesPerSecond": num("frames") / delivered_window if delivered_window else None,
    "deliveredWithinSeconds": delivered_window, "postedForSeconds": post_window,
    "latencyMilliseconds": {k: (percentile(p) / 1000 if samples else None) for k, p in (("p50", 50), ("p99", 99), ("p99.9", 99.9))}
        | {"max": (max(counts) / 1000 if samples else None)},
    "latencySamples": samples,
    "viewersClosed": closed + failed, "missing": missing, "duplicated": duplicated, "deliveriesCounted": deliveries,
    "killedNodeViewers": killed, "dropped": dropped, "rejoined": rejoined, "reconnectAttemptsFailed": attempts_failed,
    "reconnectSeconds": reconnect_seconds, "reconnectSecondsByNodeCounts": num("back_seconds_by_metrics", None),
    "redisCPUSeconds": num("redis_cpu_seconds"), "redisCPUPercent": num("redis_cpu_seconds") / post_window * 100 if post_window else None,
    "redisCPUMicrosecondsPerComment": num("redis_cpu_seconds") / max(1, posters[0]["commentsAccepted"]) * 1e6,
    "pushCPUPercentWhilePosting": num("push_cpu_seconds") / delivered_window * 100 if delivered_window else None,
    "ingestCPUPercentWhilePosting": num("ingest_cpu_seconds") / delivered_window * 100 if delivered_window else None,
    "benchCPUPercentWhilePosting": num("bench_cpu_seconds") / delivered_window * 100 if delivered_window else None,
    "slowConsumerCloses": num("slow_consumer_closes_end"),
    "passed": not problems, "problems": problems,
}
json.dump(result, open(f"{out}/million.json", "w"), indent=2, sort_keys=True)
def ms(key):
    value = result["latencyMilliseconds"][key]
    return "-" if value is None else f"{value:,.0f} ms"
mib = lambda k: f"{k / 1024:,.0f} MiB"
print(f"million: {joined:,} of {viewers:,} viewers in one room, {push_nodes} push nodes, {benches} benches, {build} build")
print(f"  connect: {num('connect_seconds'):.1f} s at {float(connect_rate):,.0f}/s")
print(f"  memory: push nodes {mib(push_idle)} idle -> {mib(push_loaded)}: {result['pushRSSPerViewerBytes']:,.0f} B per viewer; "
      f"benches {mib(bench_idle)} idle -> {mib(bench_rss)}: {result['benchRSSPerViewerBytes']:,.0f} B per viewer")
print(f"  machine used: {mib(used_start)} at start, {mib(used_before)} before connecting, {mib(used_after)} after: "
      f"{result['machineUsedPerViewerBytes']:,.0f} B per viewer (slab {result['slabPerViewerBytes']:,.0f} B); "
      f"TCP buffer pages {num('tcp_pages_connected'):,.0f} connected, {num('tcp_pages_peak'):,.0f} at most while posting")
dps, fps = result["deliveriesPerSecond"], result["framesPerSecond"]
print(f"  posting: {posters[0]['commentsAccepted']} comments at {float(rate):g}/s for {post_window:.1f} s, all delivered within {delivered_window:.1f} s: "
      f"{dps or 0:,.0f} deliveries/s, {fps or 0:,.0f} frames/s (push nodes' counters)")
print(f"  latency (live comments, {samples:,} samples): p50 {ms('p50')}, p99 {ms('p99')}, p99.9 {ms('p99.9')}, max {ms('max')}")
print(f"  CPU while posting: Redis {result['redisCPUPercent'] or 0:.1f} % ({result['redisCPUMicrosecondsPerComment']:,.0f} us per comment, over the posting), "
      f"push nodes {result['pushCPUPercentWhilePosting'] or 0:.0f} %, ingest {result['ingestCPUPercentWhilePosting'] or 0:.0f} %, benches {result['benchCPUPercentWhilePosting'] or 0:.0f} %")
rs = "-" if reconnect_seconds is None else f"{reconnect_seconds:.1f} s"
print(f"  kill -9 of push node 1 ({killed:,} viewers): {dropped:,} dropped, {rejoined:,} back after {rs} "
      f"(node counts: {facts.get('back_seconds_by_metrics') or '-'} s), {attempts_failed:,} attempts failed")
print(f"  correctness: room ended at seq {last_seq} ({accepted} accepted); {deliveries:,} deliveries counted of {joined * last_seq:,}; "
      f"missing {missing}, duplicated {duplicated}, viewers closed {closed + failed}, slow-consumer closes {num('slow_consumer_closes_end'):.0f}")
print("  result: " + ("PASS" if not problems else "FAIL: " + "; ".join(problems)))
sys.exit(0 if not problems else 1)
PY
status=${PIPESTATUS[0]}
set -e
exit "$status"
