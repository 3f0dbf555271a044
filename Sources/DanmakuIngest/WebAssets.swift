// Danmaku — a live-stream bullet-comment service.

import NIOCore

/// The files the server's web pages are made of, as it sends them: `Sources/DanmakuIngest/Web/`,
/// one file per page or script, written and served as they are (no build step, no CDN).
///
/// SwiftPM compiles the folder into the binary (`resources: [.embedInCode("Web")]` in
/// Package.swift makes `PackageResources.client_js` and the like), rather than copying it beside
/// the executable for `Bundle.module`: the binary is deployed alone (Deploy/Dockerfile and the
/// systemd units copy `danmaku` and nothing else), and on Linux `Bundle.module` looks for a
/// `danmaku_DanmakuIngest.resources` folder beside the executable, then in the build tree, and
/// stops the process when neither is there. Compiled in, a file missing from `Web/` fails the
/// build instead, and every executable that links this target serves the same bytes from any
/// working directory. Each buffer is made once, on first use.
enum WebAssets {
    /// Headers sent with both pages: they run only their own code (inline, and scripts from this
    /// origin) and talk only to this origin. `'unsafe-inline'` because the pages' styles and the
    /// viewer page's script are written inline in their HTML files.
    static let securityHeaders = [
        ("Content-Security-Policy", "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; media-src 'self' https: blob:; base-uri 'none'; form-action 'none'"),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "no-referrer"),
        ("Cache-Control", "no-cache"),
    ]

    /// `/`, `/rooms/{room}` and `/videos/{video}`, `Web/viewer.html`: the viewer page, one
    /// self-contained HTML document. Comments scroll right to left over a video-area placeholder
    /// in lanes that do not overlap (`top` and `bottom` comments stay fixed for 4 s); a box posts
    /// to the HTTP API; the socket (through `/client.js`) reconnects by itself with `since`, so
    /// nothing is missed across a reconnect. At `/videos/{video}` the same page plays a video's
    /// pool (`/playback.js`) against a `<video>` (`?src=`) or a stand-in timeline; both modes draw
    /// through `/screen.js`.
    static let viewerPage = ByteBuffer(bytes: PackageResources.viewer_html)

    /// `/admin`, `Web/admin.html`: the dashboard, one page (its script is `/admin.js`) that reads
    /// `GET /v1/admin/stats` every second with an admin token, draws the node's rates on canvases
    /// it draws itself, lists the busiest rooms and the nodes, and sets a room's display budget and
    /// slow mode or bans a user through the moderation endpoints. The token is kept in
    /// `sessionStorage` (gone when the tab closes). Sent with `securityHeaders`, as the viewer page is.
    static let adminPage = ByteBuffer(bytes: PackageResources.admin_html)

    /// `/client.js`, `Web/client.js`: the module the viewer page uses, for other pages too. It
    /// watches a room over the viewer WebSocket, reports each comment once, resumes after the
    /// last one with `since` and `epoch` when the socket drops (backoff 0.5 s doubling to 10 s),
    /// and posts over the HTTP API with a token; `DanmakuVideo` is a recorded video's comment
    /// pool (`segment(n)`, `post({text, offsetMs})`, `like(id)`).
    ///
    /// ```js
    /// import { DanmakuConnection } from "/client.js";
    /// const connection = new DanmakuConnection("lobby", {
    ///   token,                                            // optional: for posting
    ///   onComment: (comment) => show(comment),            // each comment once, in seq order
    ///   onRetract: ({ id }) => remove(id),
    ///   onStatus: (state) => console.log(state),          // connecting, live, reconnecting
    /// });
    /// connection.connect();
    /// const { status, answer } = await connection.post({ text: "hello" });
    /// ```
    static let clientScript = ByteBuffer(bytes: PackageResources.client_js)

    /// `/screen.js`, `Web/screen.js`: draws comments over a video, the part the viewer page's live
    /// and video modes share. Each comment takes the first free lane of its mode (scrolling right
    /// to left, `reverse` left to right, or fixed at the top or bottom); a full screen holds a
    /// comment back rather than stacking it over another.
    ///
    /// ```js
    /// import { DanmakuScreen } from "/screen.js";
    /// const screen = new DanmakuScreen(document.getElementById("stage"), { onCount: (counts) => show(counts) });
    /// screen.fly({ id, seq, text: "666", color: "#ffffff", mode: "scroll" });
    /// ```
    static let screenScript = ByteBuffer(bytes: PackageResources.screen_js)

    /// `/playback.js`, `Web/playback.js`: plays a video's comment pool against a clock, for the
    /// viewer page's video mode (`/videos/{video}`). The clock is an HTML5 video element's or,
    /// without a video, a stand-in timeline; the segment the clock is in is fetched (and the next
    /// one near its end), each comment is shown as the clock passes its offset, and a jump of the
    /// clock (a seek, backwards or forwards) starts over from the new position.
    ///
    /// ```js
    /// import { DanmakuVideo } from "/client.js";
    /// import { VideoPlayback, StandInClock } from "/playback.js";
    /// const clock = new StandInClock(3600000);
    /// const playback = new VideoPlayback(new DanmakuVideo("cats"), clock, { onComment: (c) => screen.fly(c) });
    /// clock.play(); playback.start();
    /// ```
    static let playbackScript = ByteBuffer(bytes: PackageResources.playback_js)

    /// `/admin.js`, `Web/admin.js`: the dashboard's script (`adminPage`). It polls
    /// `GET /v1/admin/stats` with the token typed into the page, keeps two minutes of each rate
    /// and draws them, fills the rooms and nodes tables, and sends display-budget, slow-mode and
    /// ban changes to the moderation endpoints.
    static let adminScript = ByteBuffer(bytes: PackageResources.admin_js)
}
