#!/usr/bin/env bash
# Runs the danmaku-bench scenarios of BENCHMARKS.md: the server pinned to CPU 0, the bench to CPU 1.
# Usage: [SERVER_BINARY=path/to/danmaku] Benchmarks/scenarios.sh OUTDIR [LABEL...]
#   labels: w1 w1-fixed w1-naive hot-5000 hot-5000-fixed hot-5000-naive hot-10000 hot-10000-naive w3 w3-fixed w3-naive
#           quiet quiet-fixed w4; earlier rows: w1-adaptive w2 w2-naive w2-8000 w2-8000-naive hot-8000
#           hot-8000-fixed-budget60 hot-8000-budget60 hot-19000-budget60 w3-adaptive slow-readers soak
# Defaults are what users run; "-fixed" pins the window to 10 ms (--max-batch-window-ms 10), as the
# server did before the window tuned itself; "-naive" sends one frame per comment.
# SERVER_BINARY runs another build of the server (e.g. an older commit's) under the same load.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?output directory}; shift
mkdir -p "$out"
swift build -c release --product danmaku >/dev/null
swift build -c release --product danmaku-bench >/dev/null
bench=.build/release/danmaku-bench
# Each run uses its own block of source addresses: the previous run's ports linger in TIME_WAIT.
block=0
run() {
    local label=$1; shift
    local first=$((block * 16 + 1)) last=$((block * 16 + 16))
    block=$((block + 1))
    echo "== $label: $*" | tee "$out/$label.txt"
    taskset -c 1 "$bench" --server-cpus 0 ${SERVER_BINARY:+--server-binary "$SERVER_BINARY"} \
        --source-ips "127.0.$block.$first-127.0.$block.$last" \
        --json "$out/$label.json" "$@" 2> "$out/$label.progress" | tee -a "$out/$label.txt" || true
}
labels=${*:-w1 w1-fixed w1-naive hot-5000 hot-5000-fixed hot-5000-naive hot-10000 w3 w3-fixed w3-naive quiet quiet-fixed w4}
fixed=--server-arg=--max-batch-window-ms=10
for label in $labels; do
    case $label in
    w1) run w1 --scenario one-room --duration 15 ;;
    w1-fixed) run w1-fixed --scenario one-room --duration 15 $fixed ;;
    # The hottest room one bench core reads in full here: 5,000 viewers × 1,000 comments/s.
    hot-5000) run hot-5000 --scenario hot-room --viewers 5000 --duration 15 --warmup 3 ;;
    hot-5000-fixed) run hot-5000-fixed --scenario hot-room --viewers 5000 --duration 15 --warmup 3 $fixed ;;
    hot-5000-naive) run hot-5000-naive --scenario hot-room --viewers 5000 --duration 15 --warmup 3 --batch-window-ms 0 ;;
    hot-10000) run hot-10000 --scenario hot-room --viewers 10000 --duration 15 --warmup 3 ;;
    hot-10000-naive) run hot-10000-naive --scenario hot-room --viewers 10000 --duration 15 --warmup 3 --batch-window-ms 0 ;;
    w3-fixed) run w3-fixed --scenario many-rooms --duration 15 $fixed ;;
    # A quiet room: one comment per frame.
    quiet) run quiet --scenario one-room --rate 5 --duration 15 ;;
    quiet-fixed) run quiet-fixed --scenario one-room --rate 5 --duration 15 $fixed ;;
    w1-adaptive) run w1-adaptive --scenario one-room --duration 15 --server-arg=--max-sends-per-second=80000 ;;
    w1-naive) run w1-naive --scenario one-room --duration 15 --batch-window-ms 0 ;;
    # 19,000 viewers: one process holds at most ~19,900 sockets (the open-files limit here).
    w2) run w2 --scenario hot-room --viewers 19000 --duration 15 --server-arg=--max-sends-per-second=80000 ;;
    w2-naive) run w2-naive --scenario hot-room --viewers 19000 --duration 15 --batch-window-ms 0 ;;
    # The largest hot room one bench core can absorb here (1.8 GB/s of frames over loopback).
    w2-8000) run w2-8000 --scenario hot-room --viewers 8000 --duration 15 --warmup 3 --server-arg=--max-sends-per-second=80000 ;;
    w2-8000-naive) run w2-8000-naive --scenario hot-room --viewers 8000 --duration 15 --warmup 3 --batch-window-ms 0 ;;
    # The display budget: the hot room with 60 comments/s per viewer, next to w2-8000 / w2 (the same
    # runs without it) and next to the fixed 10 ms window (hot-8000, hot-8000-fixed-budget60).
    hot-8000) run hot-8000 --scenario hot-room --viewers 8000 --duration 15 --warmup 3 ;;
    hot-8000-fixed-budget60) run hot-8000-fixed-budget60 --scenario hot-room --viewers 8000 --duration 15 --warmup 3 --server-arg=--default-display-per-second=60 ;;
    hot-8000-budget60) run hot-8000-budget60 --scenario hot-room --viewers 8000 --duration 15 --warmup 3 --server-arg=--max-sends-per-second=80000 --server-arg=--default-display-per-second=60 ;;
    hot-19000-budget60) run hot-19000-budget60 --scenario hot-room --viewers 19000 --duration 15 --warmup 3 --server-arg=--max-sends-per-second=80000 --server-arg=--default-display-per-second=60 ;;
    w3) run w3 --scenario many-rooms --duration 15 ;;
    w3-adaptive) run w3-adaptive --scenario many-rooms --duration 15 --server-arg=--max-sends-per-second=80000 ;;
    w3-naive) run w3-naive --scenario many-rooms --duration 15 --batch-window-ms 0 ;;
    w4) run w4 --scenario idle --viewers 19000 --duration 5 --warmup 0 ;;
    # 30 minutes: 200 rooms × 10 viewers, 50 viewers replaced per second, RSS and fds every minute.
    soak) run soak --scenario many-rooms --rooms 200 --viewers 10 --rate 200 --churn 50 --sample-every 60 --duration 1800 --warmup 5 ;;
    slow-readers) run slow-readers --scenario one-room --viewers 1000 --slow-viewers 1000 --rate 500 --duration 60 ;;
    *) echo "unknown label $label" >&2; exit 2 ;;
    esac
done
