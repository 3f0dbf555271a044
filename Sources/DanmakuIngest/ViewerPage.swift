// Danmaku — a live-stream bullet-comment service.

import NIOCore

/// The viewer page served at `/`, `/rooms/{room}` and `/videos/{video}`: one self-contained HTML document (no build
/// step, no CDN). Comments scroll right to left over a video-area placeholder in lanes that do
/// not overlap (`top` and `bottom` comments stay fixed for 4 s); a box posts to the HTTP API; the
/// socket (through `/client.js`, `WebAssets.clientScript`) reconnects by itself with `since`, so nothing is
/// missed across a reconnect. At `/videos/{video}` the same page plays a video's pool
/// (`/playback.js`, `WebAssets.playbackScript`) against a `<video>` (`?src=`) or a stand-in timeline;
/// both modes draw through `/screen.js` (`WebAssets.screenScript`).
enum ViewerPage {
    /// Headers sent with the page: it runs only its own inline code and talks only to this origin.
    static let securityHeaders = [
        ("Content-Security-Policy", "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; media-src 'self' https: blob:; base-uri 'none'; form-action 'none'"),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "no-referrer"),
        ("Cache-Control", "no-cache"),
    ]

    /// The page's bytes, made once.
    static let body = ByteBuffer(string: html)

    static let html = #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Danmaku</title>
<style>
  :root { color-scheme: dark; font-family: system-ui, sans-serif; }
  body { margin: 0; background: #111; color: #eee; }
  header, form, #notes { max-width: 960px; margin: 0 auto; padding: 8px 12px; display: flex; gap: 8px; align-items: center; }
  header h1 { font-size: 16px; margin: 0; flex: 1; }
  #status { font-size: 13px; padding: 2px 8px; border-radius: 10px; background: #444; }
  #status[data-state="live"] { background: #1b5e20; }
  #status[data-state="reconnecting"] { background: #8a4b00; }
  #stage { position: relative; max-width: 960px; margin: 0 auto; aspect-ratio: 16 / 9; overflow: hidden;
           background: repeating-linear-gradient(45deg, #1c1c1c 0 20px, #222 20px 40px); }
  #stage .placeholder { position: absolute; inset: 0; display: grid; place-items: center; color: #555; font-size: 14px; }
  .danmaku { position: absolute; left: 0; white-space: nowrap; font-size: 22px; line-height: 28px; font-weight: 600;
             text-shadow: 1px 1px 2px #000, -1px -1px 2px #000; will-change: transform; pointer-events: none; }
  .danmaku.fixed { left: 50%; transform: translateX(-50%); }
  .danmaku.small { font-size: 16px; }
  .danmaku.large { font-size: 30px; }
  /* A subtitle or special comment from the room's staff. */
  .danmaku.pool { background: rgba(0, 0, 0, 0.6); padding: 0 8px; border-radius: 4px; }
  form input[type=text] { flex: 1; padding: 6px; background: #222; color: #eee; border: 1px solid #555; }
  #post-result { font-size: 13px; min-width: 12em; }
  #notice { max-width: 936px; margin: 4px auto; padding: 6px 12px; background: #3b2f00; color: #ffd54f; border-radius: 4px; }
  #notice:empty { display: none; }
  #online { font-size: 13px; color: #aaa; }
  #log { max-width: 960px; margin: 0 auto; height: 120px; overflow-y: auto; font-size: 13px; color: #aaa; list-style: none; padding: 0 12px; }
  #timeline { max-width: 960px; margin: 0 auto; padding: 4px 12px; display: flex; gap: 8px; align-items: center; }
  #timeline[hidden] { display: none; }
  #timeline input[type=range] { flex: 1; }
  #log button.like { background: none; border: none; color: #f48fb1; cursor: pointer; font: inherit; padding: 0 6px; }
</style>
</head>
<body>
<header><h1>Danmaku · <span id="kind">room</span> <span id="room"></span></h1><span id="online"></span><span id="status" data-state="connecting">connecting</span></header>
<div id="notice" role="status"></div>
<div id="stage" aria-hidden="true"><div class="placeholder">video</div></div>
<div id="timeline" hidden>
  <button id="play" type="button">Pause</button>
  <input id="seek" type="range" min="0" max="3600" step="0.1" value="0" aria-label="position">
  <span id="clock">0:00</span>
</div>
<form id="post-form" autocomplete="off">
  <input id="text" type="text" maxlength="200" placeholder="Say something" aria-label="comment" required>
  <input id="color" type="color" value="#ffffff" aria-label="color">
  <select id="mode" aria-label="mode"><option>scroll</option><option>top</option><option>bottom</option><option>reverse</option></select>
  <select id="size" aria-label="size"><option>normal</option><option>small</option><option>large</option></select>
  <button type="submit">Send</button>
  <span id="post-result" role="status"></span>
</form>
<div id="notes"><small id="shown">0 shown</small></div>
<ul id="log" aria-live="polite"></ul>
<script type="module">
import { DanmakuConnection, DanmakuVideo } from "/client.js";
import { DanmakuScreen } from "/screen.js";
const params = new URLSearchParams(location.search);
// `/videos/{video}` plays a recorded video's pool; anything else watches a live room.
const videoMode = location.pathname.startsWith("/videos/");
const room = videoMode ? decodeURIComponent(location.pathname.slice("/videos/".length))
  : location.pathname.startsWith("/rooms/") ? decodeURIComponent(location.pathname.slice("/rooms/".length))
  : (params.get("room") || "lobby");
// With a token in the page's URL (?token=…), posts and likes carry it; watching never needs one.
const token = params.get("token");
const statusBox = document.getElementById("status"), log = document.getElementById("log");
document.getElementById("room").textContent = room;
document.getElementById("kind").textContent = videoMode ? "video" : "room";
const logSize = 200;
let counts = { shown: 0, heldBack: 0 }, shed = 0;
const screen = new DanmakuScreen(document.getElementById("stage"), { onCount: (latest) => { counts = latest; updateShown(); } });

function setStatus(state, text) { statusBox.dataset.state = state; statusBox.textContent = text || state; }

/// What the page does with a post and a like: the live room's connection, or the video's pool.
let source;

if (videoMode) {
  const { VideoPlayback, StandInClock, VideoElementClock } = await import("/playback.js");
  const pool = new DanmakuVideo(room, { token });
  let clock;
  const src = params.get("src");
  if (src) {
    // A video to play under the comments; its own controls play, pause and seek it.
    const video = document.createElement("video");
    Object.assign(video, { src, controls: true, autoplay: true, muted: true });
    video.id = "video";
    video.style.cssText = "position:absolute; inset:0; width:100%; height:100%";
    document.getElementById("stage").replaceChildren(video);
    clock = new VideoElementClock(video);
  } else {
    // No video: a stand-in timeline of an hour, with play, pause and a seek bar.
    clock = new StandInClock(3600000);
    const timeline = document.getElementById("timeline"), seek = document.getElementById("seek"), play = document.getElementById("play");
    timeline.hidden = false;
    seek.addEventListener("input", () => clock.seek(Number(seek.value) * 1000));
    play.addEventListener("click", () => {
      if (clock.paused) clock.play(); else clock.pause();
      play.textContent = clock.paused ? "Play" : "Pause";
    });
    const follow = () => {
      const seconds = clock.time() / 1000;
      if (document.activeElement !== seek) seek.value = seconds.toFixed(1);
      document.getElementById("clock").textContent = `${Math.floor(seconds / 60)}:${String(Math.floor(seconds % 60)).padStart(2, "0")}`;
      requestAnimationFrame(follow);
    };
    follow();
    clock.play();
  }
  const playback = new VideoPlayback(pool, clock, {
    onComment: (comment) => receive(comment),
    onSeek: () => screen.clear(),
    onError: (error) => note(`${error}`),
  });
  playback.start();
  setStatus("live", "playing");
  source = {
    post: async (body) => {
      const offsetMs = Math.floor(clock.time());
      const result = await pool.post({ ...body, offsetMs });
      if (result.status === 201) playback.add({ ...body, ...result.answer, user: { id: "", name: "you" } });
      return result;
    },
    like: (comment) => pool.like(comment.id),
  };
  // For the browser's console (and the browser check).
  window.playback = playback;
  window.clock = clock;
} else {
  // The socket, its resume point and reconnects live in /client.js, which other pages can use too.
  const connection = new DanmakuConnection(room, {
    token,
    onStatus: (state) => setStatus(state),
    onRestart: () => note("the room started over"),
    onOnline: (count) => setOnline(count),
    onComment: (comment) => receive(comment),
    // Under the room's display budget the server sends a sample: count what it held back.
    onComments: (message) => { if (message.shed) { shed += message.shed; updateShown(); } },
    // By id: after a Redis failover the seq may hold another comment, which stays.
    onRetract: (message) => {
      for (const element of document.querySelectorAll(`[data-id="${CSS.escape(String(message.id))}"]`)) element.remove();
    },
    onLikes: (likes) => { for (const like of likes) showLikes(like.id, like.count); },
    onGap: (message) => note(`comments ${message.from}–${message.to} are no longer in history`),
    onError: (message) => note(`${message.code}: ${message.message}`),
  });
  source = { post: (body) => connection.post(body), like: (comment) => connection.like(comment.id, comment.seq) };
  connection.connect();
  // For the browser's console (and the browser check): the page's connection.
  window.danmaku = connection;
}

function setOnline(count) {
  if (typeof count === "number") document.getElementById("online").textContent = `${count} watching`;
}

function showLikes(id, count) {
  for (const button of document.querySelectorAll(`#log [data-id="${CSS.escape(String(id))}"] button.like`)) button.textContent = `♥ ${count}`;
}

function receive(comment) {
  const item = document.createElement("li");
  item.dataset.seq = comment.seq;
  item.dataset.id = comment.id;
  if (comment.kind === "notice") {
    // A notice (a gift, a pinned message) from the streamer's tools: shown above the video.
    const text = typeof comment.payload.text === "string" ? comment.payload.text : JSON.stringify(comment.payload);
    document.getElementById("notice").textContent = `${comment.user.name}: ${text}`;
    item.textContent = `#${comment.seq} notice from ${comment.user.name}: ${text}`;
    log.prepend(item);
    return;
  }
  const repeated = comment.repeats ? ` ×${comment.repeats}` : "";
  const at = videoMode ? `${(comment.offsetMs / 1000).toFixed(1)}s ` : "";
  item.textContent = `#${comment.seq} ${at}${comment.user.name}: ${comment.text}${repeated}`;
  // Liking is the log's job: comments on the video fly past too fast to click.
  const like = document.createElement("button");
  like.className = "like";
  like.type = "button";
  like.textContent = comment.likes ? `♥ ${comment.likes}` : "♥";
  like.setAttribute("aria-label", "like");
  like.addEventListener("click", async () => {
    const { status, answer } = await source.like(comment);
    if (status !== 200) note(`like: ${answer.error.code}: ${answer.error.message}`);
    // A live room's count comes back to every viewer in a likes message; a video's is the answer.
    else if (videoMode) showLikes(comment.id, answer.likes);
  });
  item.appendChild(like);
  log.prepend(item);
  while (log.children.length > logSize) log.lastChild.remove();
  screen.fly(comment);
}

function updateShown() {
  document.getElementById("shown").textContent = `${counts.shown} shown` + (counts.heldBack ? `, ${counts.heldBack} held back (screen full)` : "")
    + (shed ? `, ${shed} not sent (the room's display budget)` : "");
}
function note(text) {
  const item = document.createElement("li");
  item.textContent = text;
  log.prepend(item);
}

document.getElementById("post-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const input = document.getElementById("text"), result = document.getElementById("post-result");
  const body = { text: input.value, color: document.getElementById("color").value, mode: document.getElementById("mode").value,
                 size: document.getElementById("size").value };
  try {
    const { status, answer } = await source.post(body);
    if (status === 201) {
      result.dataset.state = "accepted";
      result.textContent = `sent #${answer.seq}`;
      input.value = "";
    } else {
      result.dataset.state = "rejected";
      result.textContent = `${answer.error.code}: ${answer.error.message}`;
    }
  } catch (error) {
    result.dataset.state = "failed";
    result.textContent = `not sent: ${error}`;
  }
});
</script>
</body>
</html>
"""#
}
