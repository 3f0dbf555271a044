// Danmaku — a live-stream bullet-comment service.

import NIOCore

/// The viewer page served at `/` and `/rooms/{room}`: one self-contained HTML document (no build
/// step, no CDN). Comments scroll right to left over a video-area placeholder in lanes that do
/// not overlap (`top` and `bottom` comments stay fixed for 4 s); a box posts to the HTTP API; the
/// socket (through `/client.js`, `ClientScript`) reconnects by itself with `since`, so nothing is
/// missed across a reconnect.
enum ViewerPage {
    /// Headers sent with the page: it runs only its own inline code and talks only to this origin.
    static let securityHeaders = [
        ("Content-Security-Policy", "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; base-uri 'none'; form-action 'none'"),
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
  #log button.like { background: none; border: none; color: #f48fb1; cursor: pointer; font: inherit; padding: 0 6px; }
</style>
</head>
<body>
<header><h1>Danmaku · room <span id="room"></span></h1><span id="online"></span><span id="status" data-state="connecting">connecting</span></header>
<div id="notice" role="status"></div>
<div id="stage" aria-hidden="true"><div class="placeholder">video</div></div>
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
import { DanmakuConnection } from "/client.js";
const room = location.pathname.startsWith("/rooms/")
  ? decodeURIComponent(location.pathname.slice("/rooms/".length))
  : (new URLSearchParams(location.search).get("room") || "lobby");
// With a token in the page's URL (?token=…), posts carry it; watching never needs one.
const token = new URLSearchParams(location.search).get("token");
const stage = document.getElementById("stage"), statusBox = document.getElementById("status"), log = document.getElementById("log");
document.getElementById("room").textContent = room;
const laneHeight = 30, scrollSeconds = 8, fixedSeconds = 4, logSize = 200;
let shown = 0, heldBack = 0, shed = 0;
const lanes = { scroll: [], top: [], bottom: [] };  // per lane: when it is free again (ms)
// Scrolling lanes carry both directions: when the last comment in a lane is off screen (ms). A
// reverse comment takes only an empty lane, and a lane it flies in takes no other.
const lanesClear = [];

function setStatus(state, text) { statusBox.dataset.state = state; statusBox.textContent = text || state; }

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
  onLikes: (likes) => {
    for (const like of likes) {
      for (const button of document.querySelectorAll(`#log [data-id="${CSS.escape(String(like.id))}"] button.like`)) {
        button.textContent = `♥ ${like.count}`;
      }
    }
  },
  onGap: (message) => note(`comments ${message.from}–${message.to} are no longer in history`),
  onError: (message) => note(`${message.code}: ${message.message}`),
});

function setOnline(count) {
  if (typeof count === "number") document.getElementById("online").textContent = `${count} watching`;
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
  item.textContent = `#${comment.seq} ${comment.user.name}: ${comment.text}${repeated}`;
  // Liking is the log's job: comments on the video fly past too fast to click.
  const like = document.createElement("button");
  like.className = "like";
  like.type = "button";
  like.textContent = "♥";
  like.setAttribute("aria-label", "like");
  like.addEventListener("click", async () => {
    const { status, answer } = await connection.like(comment.id, comment.seq);
    if (status !== 200) note(`like: ${answer.error.code}: ${answer.error.message}`);
  });
  item.appendChild(like);
  log.prepend(item);
  while (log.children.length > logSize) log.lastChild.remove();
  fly(comment);
}

/// Puts a comment on screen in the first free lane of its mode; a full screen holds it back.
function fly(comment) {
  const element = document.createElement("div");
  element.className = "danmaku";
  // Sizes and flags this page does not know are drawn as a normal comment.
  if (comment.size === "small" || comment.size === "large") element.classList.add(comment.size);
  if (comment.pool === true) element.classList.add("pool");
  element.dataset.seq = comment.seq;
  element.dataset.id = comment.id;
  // A merged repeat says how many sent it: "666 ×48".
  element.textContent = comment.repeats ? `${comment.text} ×${comment.repeats}` : comment.text;
  element.style.color = comment.color || "#ffffff";
  const width = stage.clientWidth, now = performance.now();
  const count = Math.max(1, Math.floor(stage.clientHeight / laneHeight) - 1);
  const reverse = comment.mode === "reverse";
  const mode = reverse ? "scroll" : comment.mode in lanes ? comment.mode : "scroll";
  const busy = lanes[mode];
  const free = (lane) => ((reverse ? lanesClear : busy)[lane] || 0) <= now;
  let lane = 0;
  while (lane < count && !free(lane)) lane++;
  if (lane === count) { heldBack++; updateShown(); return; }
  stage.appendChild(element);
  shown++; updateShown();
  if (mode === "scroll") {
    // One speed for every comment, so a later one never catches up with the one ahead of it.
    const speed = width / scrollSeconds, own = element.offsetWidth, flight = (width + own) / speed * 1000;
    element.style.top = `${lane * laneHeight + 4}px`;
    if (reverse) element.classList.add("reverse");
    // Free for the same direction once this one has fully entered; for the other, once it has left.
    busy[lane] = reverse ? now + flight : now + (own + 24) / speed * 1000;
    lanesClear[lane] = Math.max(lanesClear[lane] || 0, now + flight);
    const from = reverse ? -own : width, to = reverse ? width : -own;
    const animation = element.animate(
      [{ transform: `translateX(${from}px)` }, { transform: `translateX(${to}px)` }],
      { duration: flight, easing: "linear" });
    animation.onfinish = () => element.remove();
  } else {
    element.classList.add("fixed");
    const offset = lane * laneHeight + 4;
    if (mode === "top") element.style.top = `${offset}px`; else element.style.bottom = `${offset}px`;
    busy[lane] = now + fixedSeconds * 1000;
    setTimeout(() => element.remove(), fixedSeconds * 1000);
  }
}

function updateShown() {
  document.getElementById("shown").textContent = `${shown} shown` + (heldBack ? `, ${heldBack} held back (screen full)` : "")
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
    const { status, answer } = await connection.post(body);
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

connection.connect();
// For the browser's console (and the browser check): the page's connection.
window.danmaku = connection;
</script>
</body>
</html>
"""#
}
