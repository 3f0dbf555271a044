"""The viewer page's video mode (/videos/{video}) in Chromium, for browser_check.py.

A video's pool is filled over HTTP (comments at 1 s, 5 s and 6 min 10 s, the last in the second
six-minute segment), the page is opened on its stand-in timeline, and the check seeks forwards
and backwards with the seek bar, as a viewer would: each comment appears when the clock passes
its offset, a comment skipped by a seek forward does not, seeking back shows it again, and a
seek into the next segment fetches it. A comment typed into the box lands at the clock's offset,
and a like clicked in the log comes back as the comment's count.
"""
import json
import urllib.request

from browser_check import http, open_page


def shown_texts(page):
    return page.evaluate("JSON.stringify([...document.querySelectorAll('#stage .danmaku')].map((e) => e.textContent))")


async def seek(page, seconds):
    await page.evaluate(f"(() => {{ const s = document.getElementById('seek'); s.value = '{seconds}'; "
                        "s.dispatchEvent(new Event('input')); })()")


async def check_video(server_port, devtools_port):
    base = f"http://127.0.0.1:{server_port}"
    for offset, text in [(1000, "at one second"), (5000, "at five seconds"), (370000, "in the second segment")]:
        status, answer = http("POST", f"{base}/v1/videos/bc-vod/comments", {"text": text, "offsetMs": offset})
        assert status == 201, (status, answer)
    with urllib.request.urlopen(f"{base}/v1/videos/bc-vod/segments/0") as response:
        assert response.headers["ETag"], "a segment carries its ETag"

    async with open_page(devtools_port, f"{base}/videos/bc-vod", ready="window.playback !== undefined") as page:
        # Played from 0: the clock passes 1 s.
        await page.wait_for("the comment at 1 s appears as the clock passes it",
                            "document.querySelector('#stage .danmaku')?.textContent === 'at one second'")
        # Pause, clear the screen's memory, and seek past 5 s: the 5 s comment was skipped by the seek.
        await page.evaluate("window.clock.pause(); document.querySelectorAll('#stage .danmaku').forEach((e) => e.remove())")
        await page.evaluate("document.getElementById('log').replaceChildren()")
        await seek(page, 5.5)
        await page.evaluate("window.clock.play()")
        await page.evaluate("new Promise((resolve) => setTimeout(resolve, 600))")
        assert "at five seconds" not in json.loads(await shown_texts(page)), "a seek forward skips what it jumps over"
        # Back to 4.5 s: the clock passes 5 s again, and the comment shows.
        await seek(page, 4.5)
        await page.wait_for("seeking back shows the 5 s comment as the clock passes it",
                            "[...document.querySelectorAll('#stage .danmaku')].some((e) => e.textContent === 'at five seconds')")
        texts = json.loads(await shown_texts(page))
        assert "at one second" not in texts, f"only what the clock passed after the seek: {texts}"
        # Into the second segment, just before 6 min 10 s: fetched, then shown.
        await seek(page, 369.5)
        await page.wait_for("a seek into the next segment fetches it and shows its comment",
                            "[...document.querySelectorAll('#stage .danmaku')].some((e) => e.textContent === 'in the second segment')")
        print("video mode: comments appear as the clock passes them, across seeks forwards, backwards and into the next segment")

        # A comment typed into the box lands at the clock's offset, and shows at once.
        position = await page.evaluate("window.clock.time()")
        await page.evaluate("document.getElementById('text').value = 'typed at the clock'")
        await page.evaluate("document.querySelector('#post-form button[type=submit]').click()")
        await page.wait_for("the typed comment is accepted", "document.getElementById('post-result').dataset.state === 'accepted'")
        await page.wait_for("the typed comment flies", "[...document.querySelectorAll('#stage .danmaku')].some((e) => e.textContent === 'typed at the clock')")
        with urllib.request.urlopen(f"{base}/v1/videos/bc-vod/segments/1") as response:
            stored = [c for c in json.loads(response.read())["comments"] if c["text"] == "typed at the clock"]
        assert len(stored) == 1 and abs(stored[0]["offsetMs"] - position) < 2000, (stored, position)
        # The log's like button likes the video's comment.
        await page.evaluate("[...document.querySelectorAll('#log li')].find((li) => li.textContent.includes('in the second segment'))"
                            ".querySelector('button.like').click()")
        await page.wait_for("a like clicked in the log comes back as the count",
                            "[...document.querySelectorAll('#log li')].some((li) => li.textContent.includes('in the second segment') "
                            "&& li.querySelector('button.like').textContent === '♥ 1')")
        print("video mode: a typed comment lands at the clock's offset; a like comes back as the count")
