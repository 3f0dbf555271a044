#!/usr/bin/env python3
"""The viewer page in a real headless Chromium, driven over the DevTools protocol.

Starts `danmaku serve` on a free port and Chromium with remote debugging, opens
/rooms/browser and checks, in the page's own DOM: it connects (status "live") through the
/client.js module; a comment posted
over HTTP appears (log entry and a flying element in its colour); a comment typed into the box
and sent is accepted and appears; comments fly in lanes without overlapping; `top` comments are
fixed; after the socket drops, the page reconnects with `since` and shows what was posted
meanwhile, once; repeats posted at once on a server that merges them show once with their
count; the video mode plays a pool across seeks (Tests/e2e/video_check.py); the browser's EventSource follows the room over Server-Sent Events; a recalled
comment leaves the page; a like clicked in the log comes back as the comment's count. With tokens: a streamer's notice shows above the video, and the
dashboard at /admin refuses a non-admin token, draws its charts, lists the busy room and sets its
display budget, which a viewer then feels; a viewer reports a comment from the page's log, the
dashboard's queue lists it, and removing it there takes it out of history. Any JavaScript
exception fails the check.

Usage: browser_check.py --binary .build/debug/danmaku [--chromium /usr/bin/chromium]
"""
import argparse
import asyncio
import concurrent.futures
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

import websockets



def start_server(binary, *extra, port=0):
    # The lane check posts a burst from one address: wider than the default 2/s per user.
    process = subprocess.Popen([binary, "serve", "--port", str(port), "--log-level", "warning", "--user-rate", "50/50", *extra],
                               stdout=subprocess.PIPE, text=True)
    deadline = time.time() + 30
    while time.time() < deadline:
        line = process.stdout.readline()
        match = re.search(r"serving on http://127\.0\.0\.1:(\d+)", line)
        if match:
            return process, int(match.group(1))
    process.kill()
    raise SystemExit("the server did not print its banner")


def start_chromium(path, profile):
    process = subprocess.Popen(
        [path, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
         "--no-default-browser-check", "--remote-debugging-port=0", "--remote-allow-origins=*",
         f"--user-data-dir={profile}", "--window-size=1000,800", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    port_file = os.path.join(profile, "DevToolsActivePort")
    deadline = time.time() + 30
    while time.time() < deadline:
        if os.path.exists(port_file):
            with open(port_file) as handle:
                first = handle.readline().strip()
            if first:
                return process, int(first)
        time.sleep(0.1)
    process.kill()
    raise SystemExit("chromium did not open its DevTools port")


def http(method, url, body=None, token=None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, method=method, data=None if body is None else json.dumps(body).encode(),
                                     headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


class Page:
    """A page target over the DevTools protocol: commands by id, exceptions collected."""

    def __init__(self, socket):
        self.socket = socket
        self.next_id = 0
        self.exceptions = []

    async def send(self, method, **params):
        self.next_id += 1
        ident = self.next_id
        await self.socket.send(json.dumps({"id": ident, "method": method, "params": params}))
        while True:
            message = json.loads(await asyncio.wait_for(self.socket.recv(), 30))
            if message.get("method") == "Runtime.exceptionThrown":
                self.exceptions.append(message["params"]["exceptionDetails"])
            if message.get("id") == ident:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})

    async def evaluate(self, expression):
        result = await self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def wait_for(self, what, expression, timeout=15):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if await self.evaluate(expression):
                return
            await asyncio.sleep(0.1)
        raise SystemExit(f"FAIL: {what} (waited {timeout} s for `{expression}`)")


@contextlib.asynccontextmanager
async def open_page(devtools_port, url, ready="document.getElementById('status')?.dataset.state === 'live'"):
    """Chromium's page target, navigated to `url` and waited on until `ready` (the viewer page: live)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{devtools_port}/json/list") as response:
        targets = [t for t in json.loads(response.read()) if t["type"] == "page"]
    async with websockets.connect(targets[0]["webSocketDebuggerUrl"], max_size=None) as socket:
        page = Page(socket)
        await page.send("Runtime.enable")
        await page.send("Page.enable")
        await page.send("Page.navigate", url=url)
        # This document (not the one before it), with its scripts run: a page whose markup already
        # says `ready` (the dashboard starts "idle") could otherwise be used before its script has
        # attached its handlers, and a form submitted then reloads the page instead.
        await page.wait_for("the page loads", f"location.href === {json.dumps(url)} && document.readyState === 'complete' && ({ready})")
        yield page
        if page.exceptions:
            raise SystemExit(f"FAIL: JavaScript exceptions: {page.exceptions}")


async def check(server_port, devtools_port):
    base = f"http://127.0.0.1:{server_port}"
    async with open_page(devtools_port, f"{base}/rooms/browser") as page:
        print("page connected")
        loaded = await page.evaluate("performance.getEntriesByType('resource').some(e => new URL(e.name).pathname === '/client.js')"
                                     " && typeof danmaku.post === 'function'")
        assert loaded, "the page watches through the /client.js module"
        await page.wait_for("the page shows the room's online count",
                            "document.getElementById('online').textContent === '1 watching'")

        status, answer = http("POST", f"{base}/v1/rooms/browser/comments", {"text": "posted over HTTP", "color": "#ff0000"})
        assert status == 201, (status, answer)
        seq = answer["seq"]
        await page.wait_for("a comment posted over HTTP appears",
                            f"document.querySelector('#log li[data-seq=\"{seq}\"]')?.textContent.includes('posted over HTTP')")
        color = await page.evaluate(f"getComputedStyle(document.querySelector('#stage .danmaku[data-seq=\"{seq}\"]')).color")
        assert color == "rgb(255, 0, 0)", color
        print(f"comment #{seq} posted over HTTP is on screen in its colour")

        await page.evaluate("document.getElementById('text').focus()")
        await page.send("Input.insertText", text="typed into the page")
        await page.evaluate("document.querySelector('#post-form button').click()")
        await page.wait_for("the typed comment is accepted", "document.getElementById('post-result').dataset.state === 'accepted'")
        await page.wait_for("the typed comment appears",
                            "[...document.querySelectorAll('#log li')].some(li => li.textContent.includes('typed into the page'))")
        status, history = http("GET", f"{base}/v1/rooms/browser/comments?since=0")
        assert any(c["text"] == "typed into the page" for c in history["comments"]), history
        print("a comment typed into the box was accepted and shown")

        for index in range(12):
            status, _ = http("POST", f"{base}/v1/rooms/browser/comments", {"text": f"lane test {index} " + "x" * index})
            assert status == 201
        await page.wait_for("12 more comments arrive", "document.querySelectorAll('#log li[data-seq]').length >= 14")
        overlaps = await page.evaluate("""(() => {
            const rects = [...document.querySelectorAll('#stage .danmaku:not(.fixed)')].map(e => e.getBoundingClientRect());
            let overlaps = 0;
            for (let i = 0; i < rects.length; i++) for (let j = i + 1; j < rects.length; j++) {
                const a = rects[i], b = rects[j];
                if (a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom) overlaps++;
            }
            return overlaps;
        })()""")
        assert overlaps == 0, f"{overlaps} overlapping comments on screen"
        print("scrolling comments share no space on screen")

        status, answer = http("POST", f"{base}/v1/rooms/browser/comments", {"text": "pinned at the top", "mode": "top"})
        assert status == 201
        await page.wait_for("a top comment is fixed",
                            f"document.querySelector('#stage .danmaku[data-seq=\"{answer['seq']}\"]')?.classList.contains('fixed')")
        print("a top comment is shown fixed")

        status, answer = http("POST", f"{base}/v1/rooms/browser/comments", {"text": "against the flow", "mode": "reverse"})
        assert status == 201 and answer["seq"], answer
        selector = f"#stage .danmaku[data-seq=\"{answer['seq']}\"]"
        await page.wait_for("a reverse comment flies", f"document.querySelector('{selector}')?.classList.contains('reverse')")
        first = await page.evaluate(f"document.querySelector('{selector}').getBoundingClientRect().left")
        await asyncio.sleep(0.5)
        second = await page.evaluate(f"document.querySelector('{selector}').getBoundingClientRect().left")
        assert second > first, f"a reverse comment moves left to right ({first} -> {second})"
        print("a reverse comment moves left to right")

        # A large comment is drawn larger.
        status, answer = http("POST", f"{base}/v1/rooms/browser/comments", {"text": "a large one", "size": "large"})
        assert status == 201, (status, answer)
        selector = f"#stage .danmaku[data-seq=\"{answer['seq']}\"]"
        await page.wait_for("the large comment flies", f"document.querySelector('{selector}') !== null")
        size = await page.evaluate(f"getComputedStyle(document.querySelector('{selector}')).fontSize")
        assert size == "30px", f"a large comment is drawn at 30px, not {size}"
        print("a large comment is drawn larger")

        # Drop the socket, post while the page is away, and expect it after the reconnect, once.
        # (The client's own reconnect, held back 1.5 s so that the post lands while it is away.)
        await page.evaluate("danmaku.backoff = 1500; danmaku.socket.close(); true")
        await asyncio.sleep(0.3)
        status, answer = http("POST", f"{base}/v1/rooms/browser/comments", {"text": "posted while away"})
        assert status == 201
        await page.wait_for("the page reconnects", "document.getElementById('status').dataset.state === 'live'")
        await page.wait_for("the missed comment arrives", f"document.querySelector('#log li[data-seq=\"{answer['seq']}\"]') !== null")
        seqs = await page.evaluate("[...document.querySelectorAll('#log li[data-seq]')].map(li => Number(li.dataset.seq)).reverse()")
        assert seqs == list(range(1, answer["seq"] + 1)), seqs
        print(f"reconnected with since and got the missed comment; log holds seqs 1..{answer['seq']} once each")

        # The Server-Sent Events fallback, through the browser's own EventSource.
        await page.evaluate("""window.sse = { open: false, seqs: [] };
            const source = new EventSource('/v1/rooms/browser/events');
            source.onmessage = (event) => {
                const message = JSON.parse(event.data);
                if (message.type === 'hello') window.sse.open = true;
                if (message.type === 'comments') for (const c of message.comments) window.sse.seqs.push(c.seq);
            };
            true""")
        await page.wait_for("EventSource gets its hello", "window.sse.open")
        status, answer = http("POST", f"{base}/v1/rooms/browser/comments", {"text": "over server-sent events"})
        assert status == 201
        await page.wait_for("EventSource gets the comment", f"window.sse.seqs.includes({answer['seq']})")
        print("EventSource (Server-Sent Events) received a comment posted over HTTP")

        # A recalled comment leaves the screen and the log (the retract message names it by id).
        status, answer = http("POST", f"{base}/v1/rooms/browser/comments", {"text": "said too soon"})
        assert status == 201
        await page.wait_for("the comment to recall is shown", f"document.querySelector('#log li[data-id=\"{answer['id']}\"]') !== null")
        status, recalled = http("DELETE", f"{base}/v1/rooms/browser/comments/{answer['id']}")
        assert status == 200, (status, recalled)
        await page.wait_for("the recalled comment leaves the page",
                            f"document.querySelectorAll('[data-id=\"{answer['id']}\"]').length === 0")
        print("a recalled comment left the log and the screen")

        # A like from the page's log reaches the server and comes back as the comment's count.
        status, answer = http("POST", f"{base}/v1/rooms/browser/comments", {"text": "like me"})
        assert status == 201
        button = f"document.querySelector('#log li[data-id=\"{answer['id']}\"] button.like')"
        await page.wait_for("the comment to like is in the log", f"{button} !== null")
        await page.evaluate(f"{button}.click(); true")
        await page.wait_for("the like's count comes back", f"{button}.textContent === '♥ 1'")
        print("a like clicked in the log came back as the comment's count")

        await check_display_settings(page, base)


async def check_display_settings(page, base):
    """The page's display settings hide what the viewer chose, change how comments look, and
    are still there after a reload (localStorage)."""
    def set_field(name, value):
        return page.evaluate(f"""(() => {{
            const input = document.querySelector('#display [name="{name}"]');
            if (input.type === 'checkbox') input.checked = {json.dumps(value)}; else input.value = {json.dumps(value)};
            input.dispatchEvent(new Event('input', {{ bubbles: true }}));
            return true;
        }})()""")

    await set_field("hideTop", True)
    await set_field("blockedWords", "spoiler\nugly")
    await set_field("opacity", "50")
    for text, extra in [("hidden because top", {"mode": "top"}), ("the SPOILER is here", {}), ("shown at half opacity", {})]:
        status, answer = http("POST", f"{base}/v1/rooms/browser/comments", {"text": text, **extra})
        assert status == 201, (status, answer)
        await page.wait_for(f"'{text}' is in the log", f"document.querySelector('#log li[data-seq=\"{answer['seq']}\"]') !== null")
        on_screen = await page.evaluate(f"document.querySelector('#stage .danmaku[data-seq=\"{answer['seq']}\"]') !== null")
        assert on_screen == (text == "shown at half opacity"), f"'{text}' on screen: {on_screen}"
        last = answer["seq"]
    opacity = await page.evaluate(f"getComputedStyle(document.querySelector('#stage .danmaku[data-seq=\"{last}\"]')).opacity")
    assert opacity == "0.5", f"opacity {opacity}"
    shown = await page.evaluate("document.getElementById('shown').textContent")
    assert "2 hidden by your settings" in shown, shown
    print("display settings hide top comments and blocked words, and set the opacity")

    # Shielding: in open mode every author is anonymous, weighing 2; level 3 hides them.
    await set_field("shieldLevel", "3")
    status, answer = http("POST", f"{base}/v1/rooms/browser/comments", {"text": "too light for level 3"})
    assert status == 201, (status, answer)
    await page.wait_for("the light comment is in the log", f"document.querySelector('#log li[data-seq=\"{answer['seq']}\"]') !== null")
    hidden = await page.evaluate(f"document.querySelector('#stage .danmaku[data-seq=\"{answer['seq']}\"]') === null")
    assert hidden, "a comment lighter than the shielding level is on screen"
    await set_field("shieldLevel", "1")
    print("a shielding level hides the comments that weigh less")

    await page.evaluate("window.beforeReload = true")
    await page.send("Page.reload")
    await page.wait_for("the reloaded page is live",
                        "window.beforeReload === undefined && document.getElementById('status')?.dataset.state === 'live'")
    kept = await page.evaluate("""[document.querySelector('#display [name="hideTop"]').checked,
        display.settings.blockedWords.join(','), display.settings.opacity]""")
    assert kept == [True, "spoiler,ugly", 50], kept
    await page.evaluate("localStorage.removeItem('danmaku.display'); true")
    print("display settings are kept across a reload")


async def check_notice(server_port, devtools_port, streamer_token):
    """Against a server with tokens: a streamer's notice shows above the video, not as a flying comment."""
    base = f"http://127.0.0.1:{server_port}"
    async with open_page(devtools_port, f"{base}/rooms/stage") as page:
        status, answer = http("POST", f"{base}/v1/rooms/stage/notices", {"kind": "gift", "text": "a rocket from Ann"},
                              token=streamer_token)
        assert status == 201, (status, answer)
        await page.wait_for("the notice is shown above the video",
                            "document.getElementById('notice').textContent.includes('a rocket from Ann')")
        flying = await page.evaluate(f"document.querySelectorAll('#stage .danmaku[data-seq=\"{answer['seq']}\"]').length")
        assert flying == 0, "a notice does not fly across the video"
        print("a streamer's notice is shown above the video")


async def check_restart(binary, devtools_port):
    """A server without an archive restarts on the same port: its numbering starts over, and the
    page, which has seen higher seqs, follows it instead of dropping every new comment."""
    server, port = start_server(binary)
    base = f"http://127.0.0.1:{port}"
    try:
        async with open_page(devtools_port, f"{base}/rooms/again") as page:
            await page.wait_for("the page is live", "document.getElementById('status').dataset.state === 'live'")
            for index in range(3):
                assert http("POST", f"{base}/v1/rooms/again/comments", {"text": f"before {index}"})[0] == 201
            await page.wait_for("three comments", "document.querySelectorAll('#log li[data-seq]').length === 3")
            server.terminate()
            server.wait(timeout=15)
            server, _ = start_server(binary, port=port)
            await page.wait_for("the page reconnects", "document.getElementById('status').dataset.state === 'live'", timeout=30)
            status, answer = http("POST", f"{base}/v1/rooms/again/comments", {"text": "after the restart"})
            assert status == 201 and answer["seq"] == 1, (status, answer)
            await page.wait_for("the new seq 1 is shown",
                                "[...document.querySelectorAll('#log li[data-seq]')].some(li => li.textContent.includes('after the restart'))")
            print("after a restart that started the numbering over, the page shows the new comments")
    finally:
        server.terminate()
        server.wait(timeout=15)


async def check_merged_repeats(binary, devtools_port):
    """A server that merges repeats: "666" posted five times at once shows once, as "666 ×5"
    (or split over two batches at worst, each shown with its count), and the log accounts for them."""
    server, port = start_server(binary, "--enable-merge-repeats", "--duplicate-window", "0",
                                "--batch-window-ms", "1000", "--max-batch-window-ms", "1000")
    base = f"http://127.0.0.1:{port}"
    try:
        async with open_page(devtools_port, f"{base}/rooms/hot") as page:
            with concurrent.futures.ThreadPoolExecutor(max_workers=5) as pool:
                statuses = list(pool.map(lambda _: http("POST", f"{base}/v1/rooms/hot/comments", {"text": "666"})[0], range(5)))
            assert statuses == [201] * 5, statuses
            counts = ("[...document.querySelectorAll('#log li[data-seq]')]"
                      ".map(li => { const m = li.textContent.match(/666 ×(\\d+)/); return m ? Number(m[1]) : 1; })")
            await page.wait_for("the repeats are shown with their count", f"{counts}.reduce((a, b) => a + b, 0) === 5")
            shown = await page.evaluate(counts)
            assert len(shown) < 5, f"the repeats were merged, not shown one by one: {shown}"
            print(f"five \"666\" posted at once are shown as {', '.join(f'666 ×{n}' for n in shown)}")
    finally:
        server.terminate()
        server.wait(timeout=15)


async def check_dashboard(server_port, devtools_port, admin_token, refused_token, poster_tokens, server_started):
    """The dashboard at /admin against a server with traffic: a non-admin token is refused, the
    page opens on the last minute of figures (the node's history), the charts go on live, the
    busiest room is listed with its online count, and a display budget set from the room table
    reaches a viewer."""
    base = f"http://127.0.0.1:{server_port}"
    stop = asyncio.Event()
    received = []

    async def watch():
        async with websockets.connect(f"ws://127.0.0.1:{server_port}/v1/rooms/hot/ws", max_size=None) as socket:
            while True:
                message = json.loads(await socket.recv())
                if message.get("type") == "comments":
                    received.extend((time.time(), c["seq"]) for c in message["comments"])

    async def post():
        index = 0
        while not stop.is_set():
            token = poster_tokens[index % len(poster_tokens)]
            status, answer = await asyncio.to_thread(http, "POST", f"{base}/v1/rooms/hot/comments", {"text": f"hot {index}"}, token)
            assert status == 201, (status, answer)
            index += 1
            await asyncio.sleep(0.04)

    viewer = asyncio.create_task(watch())
    poster = asyncio.create_task(post())
    try:
        # A minute of figures recorded before the page is opened.
        await asyncio.sleep(max(0.0, server_started + 62 - time.time()))
        async with open_page(devtools_port, f"{base}/admin", ready="document.getElementById('status')?.dataset.state === 'idle'") as page:
            async def sign_in(token):
                await page.evaluate(f"document.getElementById('token').value = {json.dumps(token)}; "
                                    "document.getElementById('login').requestSubmit(); true")
            await sign_in(refused_token)
            await page.wait_for("a streamer's token is refused", "document.getElementById('status').dataset.state === 'error' "
                                "&& document.getElementById('status').textContent.includes('forbidden')")
            print("the dashboard refuses a token that is not an admin's")
            await sign_in(admin_token)
            await page.wait_for("the dashboard goes live", "document.getElementById('status').dataset.state === 'live'")
            opened = await page.evaluate("Number(document.getElementById('chart-accepted').dataset.points)")
            assert 55 <= opened <= 66, f"the charts open on the last minute, about 60 points; the accepted chart has {opened}"
            print(f"the dashboard opens on the node's last minute: {opened} points per chart at once")
            for chart in ["accepted", "deliveries", "frames", "bytes", "viewers", "window"]:
                await page.wait_for(f"the {chart} chart gets points", f"Number(document.getElementById('chart-{chart}').dataset.points) >= 3")
            accepted = await page.evaluate("document.querySelector('#chart-accepted').previousElementSibling.querySelector('b').textContent")
            # A post answered other than 201 ends the poster: say why, not just that the rate fell.
            if poster.done() and poster.exception() is not None:
                raise poster.exception()
            assert float(accepted) > 5, f"about 25 comments/s are posted ({len(received)} received so far); the chart says {accepted}"
            await page.wait_for("the busy room is listed with its viewer", "document.querySelector('#rooms tr[data-room=\"hot\"] .online')?.textContent === '1'")
            await page.wait_for("the node is listed", "document.querySelectorAll('#nodes tbody tr').length === 1")
            print(f"the dashboard draws its charts ({accepted} comments/s accepted) and lists room hot with 1 viewer")
            await page.evaluate("""(() => {
                const row = document.querySelector('#rooms tr[data-room="hot"]');
                row.querySelector('input.displayPerSecond').value = '2';
                row.querySelector('button.set-displayPerSecond').click();
                return true; })()""")
            await page.wait_for("the budget is set", "document.getElementById('status').textContent.includes('displayPerSecond set')")
            status, settings = http("GET", f"{base}/v1/rooms/hot/settings")
            assert settings.get("displayPerSecond") == 2, settings
            # Push nodes take up a new budget within a presence interval; then measure 4 s.
            await asyncio.sleep(3)
            start = time.time()
            await asyncio.sleep(4)
            shown = [seq for at, seq in received if start <= at < start + 4]
            assert len(shown) <= 2 * 4 + 2, f"a budget of 2/s sent {len(shown)} comments in 4 s"
            print(f"a display budget of 2/s set from the dashboard: the viewer got {len(shown)} comments in 4 s of about 100")
    finally:
        stop.set()
        await poster
        viewer.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await viewer


async def check_reports(server_port, devtools_port, viewer_token, author_token, admin_token):
    """Reports: a viewer reports a comment from the page's log, the dashboard's queue lists it, and
    removing it there takes it out of history (the check drives one tab: the viewer page first,
    then the dashboard)."""
    base = f"http://127.0.0.1:{server_port}"
    async with open_page(devtools_port, f"{base}/rooms/reported?token={viewer_token}") as viewer:
        status, posted = http("POST", f"{base}/v1/rooms/reported/comments", {"text": "buy cheap followers"}, author_token)
        assert status == 201, (status, posted)
        comment_id = posted["id"]
        item = f"#log li[data-id=\"{comment_id}\"]"
        await viewer.wait_for("the comment is in the log", f"!!document.querySelector({json.dumps(item)})")
        await viewer.evaluate(f"""(() => {{
            const li = document.querySelector({json.dumps(item)});
            li.querySelector('button.report').click();
            const form = li.querySelector('form.report');
            form.querySelector('select').value = 'spam';
            form.querySelector('input[name=text]').value = 'ads in chat';
            form.requestSubmit();
            return true; }})()""")
        await viewer.wait_for("the report is filed", f"document.querySelector({json.dumps(item)} + ' button.report').textContent.includes('reported')")
        print("a viewer reported a comment from the page's log")

    # The tab keeps the dashboard check's admin token in its session storage: the page signs in
    # again with it; the token is set anyway, so the check does not depend on that.
    async with open_page(devtools_port, f"{base}/admin", ready="!!document.getElementById('queue-form')") as admin:
        await admin.evaluate(f"document.getElementById('token').value = {json.dumps(admin_token)}; "
                             "document.getElementById('login').requestSubmit(); "
                             "document.getElementById('queue-name').value = 'reported'; "
                             "document.getElementById('queue-form').requestSubmit(); true")
        row = f"#reports tr[data-id=\"{comment_id}\"]"
        await admin.wait_for("the queue lists the reported comment",
                             f"document.querySelector({json.dumps(row)})?.textContent.includes('buy cheap followers') "
                             f"&& document.querySelector({json.dumps(row)}).textContent.includes('spam')")
        reporters = await admin.evaluate(f"document.querySelector({json.dumps(row + ' .reporters')}).textContent")
        assert reporters == "1", reporters
        print("the dashboard's queue lists it with its one report")
        await admin.evaluate(f"document.querySelector({json.dumps(row + ' button.report-remove')}).click(); true")
        await admin.wait_for("it leaves the queue", f"!document.querySelector({json.dumps(row)}) "
                             "&& document.getElementById('status').textContent.includes('remove: done')")
    status, history = http("GET", f"{base}/v1/rooms/reported/comments?since=0")
    assert status == 200 and all(c["id"] != comment_id for c in history["comments"]), history
    print("removed from the dashboard's queue: out of history")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    parser.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    options = parser.parse_args()
    profile = tempfile.mkdtemp(prefix="danmaku-chromium-")
    server, server_port = start_server(options.binary)
    browser = None
    try:
        browser, devtools_port = start_chromium(options.chromium, profile)
        asyncio.run(check(server_port, devtools_port))
        asyncio.run(check_restart(options.binary, devtools_port))
        asyncio.run(check_merged_repeats(options.binary, devtools_port))
        asyncio.run(check_video(server_port, devtools_port))
        # Notices need tokens: a second server with a secret, and a streamer's token for its room.
        secret = "browser-check-secret-of-32-bytes-or-more"
        server.terminate()
        server.wait(timeout=15)
        server, server_port = start_server(options.binary, "--jwt-secret", secret, "--ip-rate", "1000/1000")
        server_started = time.time()

        def token(user, role, *rooms):
            return subprocess.run([options.binary, "token", "--secret", secret, "--user", user, "--name", user.title(), "--role", role]
                                  + (["--rooms", ",".join(rooms)] if rooms else []), capture_output=True, text=True, check=True).stdout.strip()
        streamer = token("star", "streamer", "stage")
        asyncio.run(check_notice(server_port, devtools_port, streamer))
        asyncio.run(check_dashboard(server_port, devtools_port, token("root", "admin"), streamer,
                                    [token(f"fan{index}", "viewer") for index in range(10)], server_started))
        asyncio.run(check_reports(server_port, devtools_port, token("ann", "viewer"), token("troll", "viewer"), token("root", "admin")))
        print("browser check: PASS")
    finally:
        if browser:
            # Chromium's helpers share its process group: stop them all.
            os.killpg(browser.pid, signal.SIGKILL)
            browser.wait()
        server.terminate()
        server.wait(timeout=15)
        shutil.rmtree(profile, ignore_errors=True)


if __name__ == "__main__":
    from video_check import check_video
    main()
