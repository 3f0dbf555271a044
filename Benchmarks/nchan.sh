#!/usr/bin/env bash
# The loads of BENCHMARKS.md "Beside Nginx/Nchan", each run against a single-worker Nginx/Nchan
# (Benchmarks/nchan/nginx.conf) and against `danmaku serve` at its defaults (only the rate
# limits widened, as danmaku-bench does for a local server), one after the other in the same
# session: each server pinned to CPU 0, the same danmaku-bench on CPU 1.
# Usage: Benchmarks/nchan.sh OUTDIR [LABEL...]
#   labels: fan-200 (1 room x 10,000 viewers, 200 comments/s), rooms-100 (100 rooms x 100 viewers,
#           2,000/s), quiet-5 (1 room x 10,000 viewers, 5/s: one comment per frame), posts (posts
#           only, 16 rooms with a viewer each, 16 connections x 16 in flight), idle (10,000 idle viewers)
# Needs: apt-get install nginx libnginx-mod-nchan.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?output directory}; shift
mkdir -p "$out"
command -v nginx >/dev/null || { echo "nchan.sh: nginx is not installed (apt-get install nginx libnginx-mod-nchan)" >&2; exit 2; }
[ -e /usr/lib/nginx/modules/ngx_nchan_module.so ] || { echo "nchan.sh: the Nchan module is not installed (apt-get install libnginx-mod-nchan)" >&2; exit 2; }
swift build -c release --product danmaku >/dev/null
swift build -c release --product danmaku-bench >/dev/null
bench=$PWD/.build/release/danmaku-bench
conf=$PWD/Benchmarks/nchan/nginx.conf
nginx_pid=
stop_nginx() {
    if [ -n "$nginx_pid" ]; then
        kill "$nginx_pid" 2>/dev/null || true
        wait "$nginx_pid" 2>/dev/null || true
        nginx_pid=
    fi
}
trap stop_nginx EXIT
# A fresh Nginx per run, so that no run inherits another's channels.
start_nginx() {
    local prefix=$out/nginx-$1
    rm -rf "$prefix" && mkdir -p "$prefix"
    taskset -c 0 nginx -p "$prefix" -c "$conf" 2> "$prefix/stderr" &
    nginx_pid=$!
    for _ in $(seq 50); do
        curl -s -o /dev/null http://127.0.0.1:7380/ && break
        sleep 0.1
    done
    worker=$(pgrep -P "$nginx_pid" | head -1)
    [ -n "$worker" ] || { echo "nchan.sh: nginx did not start (see $prefix)" >&2; exit 1; }
}
# Each run uses its own block of source addresses: the previous run's ports linger in TIME_WAIT.
block=0
run() {
    local label=$1 target=$2; shift 2
    block=$((block + 1))
    local sources="127.0.$((100 + block)).1-127.0.$((100 + block)).16"
    echo "== $label ($target): $*" | tee "$out/$label-$target.txt"
    if [ "$target" = nchan ]; then
        start_nginx "$label"
        taskset -c 1 "$bench" --url http://127.0.0.1:7380 --server-pid "$worker" --target nchan --room-prefix "$label" \
            --source-ips "$sources" --json "$out/$label-nchan.json" "$@" 2> "$out/$label-nchan.progress" | tee -a "$out/$label-nchan.txt" || true
        stop_nginx
    else
        taskset -c 1 "$bench" --server-cpus 0 --source-ips "$sources" --json "$out/$label-danmaku.json" "$@" \
            2> "$out/$label-danmaku.progress" | tee -a "$out/$label-danmaku.txt" || true
    fi
}
labels=${*:-fan-200 rooms-100 quiet-5 posts idle}
for label in $labels; do
    case $label in
    fan-200) args=(--scenario one-room --duration 15 --warmup 3) ;;
    rooms-100) args=(--scenario many-rooms --duration 15 --warmup 3) ;;
    quiet-5) args=(--scenario one-room --rate 5 --duration 15 --warmup 3) ;;
    posts) args=(--scenario posts --rooms 16 --duration 10 --warmup 2) ;;
    idle) args=(--scenario idle --viewers 10000 --duration 5 --warmup 0) ;;
    *) echo "unknown label $label" >&2; exit 2 ;;
    esac
    run "$label" nchan "${args[@]}"
    run "$label" danmaku "${args[@]}"
done
# One line per run, side by side.
python3 - "$out" $labels <<'PY'
import json, sys, os
out = sys.argv[1]
print(f"{'load':10} {'server':8} {'accepted/s':>10} {'deliveries/s':>12} {'p99 ms':>9} {'server CPU':>10} {'µs/post':>8} {'RSS/viewer':>10} {'missing':>8}")
for label in sys.argv[2:]:
    for target in ("nchan", "danmaku"):
        path = os.path.join(out, f"{label}-{target}.json")
        if not os.path.exists(path):
            print(f"{label:10} {target:8} (no report)")
            continue
        r = json.load(open(path))
        p99 = r.get("latencyMicroseconds", {}).get("p99", 0) / 1000
        rss = r.get("serverRSSPerConnectionBytes")
        print(f"{label:10} {target:8} {r.get('acceptedPerSecond') or 0:10.0f} {r['deliveriesPerSecond']:12.0f} {p99:9.1f} "
              f"{r.get('serverCPUPercent') or 0:9.0f}% {r.get('serverMicrosecondsPerPost') or 0:8.1f} "
              f"{(rss or 0) / 1024:9.1f}K {r['missing'] + r['duplicated']:8}")
PY
