// Danmaku — a live-stream bullet-comment service.

import NIOCore

/// The dashboard served at `/admin`: one page (no CDN, no build step; its script is `/admin.js`,
/// `WebAssets.adminScript`) that reads
/// `GET /v1/admin/stats` every second with an admin token, draws the node's rates on canvases it
/// draws itself, lists the busiest rooms and the nodes, and sets a room's display budget and slow
/// mode or bans a user through the moderation endpoints. The token is kept in `sessionStorage`
/// (gone when the tab closes). Served with the viewer page's security headers.
enum AdminPage {
    /// The page's bytes, made once.
    static let body = ByteBuffer(string: html)

    static let html = #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Danmaku dashboard</title>
<style>
  body { margin: 0; font: 14px system-ui, sans-serif; background: #111; color: #eee; }
  header { display: flex; gap: 12px; align-items: center; padding: 10px 16px; background: #1c1c1c; }
  header h1 { font-size: 16px; margin: 0 12px 0 0; }
  #status[data-state="error"] { color: #ff8080; }
  #status[data-state="live"] { color: #8f8; }
  main { padding: 12px 16px; }
  .charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(300px, 1fr)); gap: 12px; }
  figure { margin: 0; background: #1a1a1a; border-radius: 6px; padding: 8px; }
  figcaption { display: flex; justify-content: space-between; color: #bbb; }
  figcaption b { color: #fff; font-weight: 600; }
  canvas { width: 100%; height: 110px; display: block; }
  table { border-collapse: collapse; width: 100%; margin-top: 8px; }
  th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #2a2a2a; }
  td input { width: 5em; background: #222; color: #eee; border: 1px solid #444; }
  button { background: #333; color: #eee; border: 1px solid #555; border-radius: 4px; cursor: pointer; }
  a { color: #9cf; }
  h2 { font-size: 15px; margin: 18px 0 4px; }
</style>
</head>
<body>
<header>
  <h1>Danmaku</h1>
  <form id="login"><input id="token" type="password" placeholder="admin token" autocomplete="off">
  <button type="submit">Connect</button></form>
  <span id="node"></span>
  <span id="status" data-state="idle">enter an admin token</span>
</header>
<main>
  <div class="charts" id="charts"></div>
  <h2>Busiest rooms</h2>
  <table id="rooms"><thead><tr><th>room</th><th>online</th><th>comments/s</th><th>last seq</th>
    <th>display budget /s</th><th>slow mode s</th><th>ban user</th><th></th></tr></thead><tbody></tbody></table>
  <h2>Nodes</h2>
  <table id="nodes"><thead><tr><th>node</th><th>viewers</th><th>rooms</th></tr></thead><tbody></tbody></table>
</main>
<script src="/admin.js"></script>
</body>
</html>
"""#
}
