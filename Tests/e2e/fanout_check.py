#!/usr/bin/env python3
"""Independent end-to-end check with a third-party WebSocket client (the `websockets` package).

Starts `danmaku serve` on a free port, connects VIEWERS viewers to one room, posts COMMENTS
comments concurrently over HTTP, and checks that every viewer saw every comment exactly once, in
seq order, in fewer frames than comments. Prints the frames-per-comment ratio. Exit code 1 on any
loss, duplicate, reordering or timeout.

    python3 Tests/e2e/fanout_check.py --binary .build/debug/danmaku [--viewers 200 --comments 500]
"""
import argparse
import asyncio
import json
import re
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import websockets


def start_server(binary, extra):
    process = subprocess.Popen(
        [binary, "--port", "0", "--log-level", "warning", "--user-rate", "100000/100000",
         "--ip-rate", "100000/100000", "--room-rate", "100000/100000", *extra],
        stdout=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        match = re.search(r"serving on http://127\.0\.0\.1:(\d+)", line)
        if match:
            return process, int(match.group(1))
    process.kill()
    raise SystemExit("server did not start")


def post(port, room, text):
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/v1/rooms/{room}/comments", data=json.dumps({"text": text}).encode(),
        headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status


async def viewer(port, room, expected, ready, results):
    seqs, frames = [], 0
    async with websockets.connect(f"ws://127.0.0.1:{port}/v1/rooms/{room}/ws", max_size=None) as ws:
        hello = json.loads(await ws.recv())
        assert hello["type"] == "hello", hello
        ready.release()
        while len(seqs) < expected:
            message = json.loads(await ws.recv())
            if message["type"] == "comments":
                frames += 1
                seqs.extend(comment["seq"] for comment in message["comments"])
    results.append((seqs, frames))


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    parser.add_argument("--viewers", type=int, default=200)
    parser.add_argument("--comments", type=int, default=500)
    parser.add_argument("--batch-window-ms", type=int, default=None)
    parser.add_argument("--timeout", type=float, default=60)
    args = parser.parse_args()
    extra = [] if args.batch_window_ms is None else ["--batch-window-ms", str(args.batch_window_ms)]
    process, port = start_server(args.binary, extra)
    try:
        ready = asyncio.Semaphore(0)
        results = []
        tasks = [asyncio.create_task(viewer(port, "e2e", args.comments, ready, results)) for _ in range(args.viewers)]
        for _ in range(args.viewers):
            await asyncio.wait_for(ready.acquire(), args.timeout)
        loop = asyncio.get_running_loop()
        with ThreadPoolExecutor(max_workers=50) as pool:
            statuses = await asyncio.gather(*[
                loop.run_in_executor(pool, post, port, "e2e", f"comment {i}") for i in range(args.comments)])
        await asyncio.wait_for(asyncio.gather(*tasks), args.timeout)
    finally:
        process.terminate()
        process.wait(timeout=10)
    expected = list(range(1, args.comments + 1))
    bad = [seqs for seqs, _ in results if seqs != expected]
    frames = [f for _, f in results]
    ratio = sum(frames) / (len(frames) * args.comments)
    print(f"viewers={args.viewers} comments={args.comments} accepted={statuses.count(201)} "
          f"frames/viewer min={min(frames)} max={max(frames)} frames-per-comment={ratio:.3f} "
          f"viewers-with-loss-dup-or-reorder={len(bad)}")
    if statuses.count(201) != args.comments or bad or process.returncode != 0:
        print(f"FAILED (server exit code {process.returncode})")
        return 1
    print("1 passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
