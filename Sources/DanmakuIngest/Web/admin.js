"use strict";
const tokenKey = "danmaku-admin-token";
const history = 900;  // points kept per chart: fifteen minutes, as much as a node keeps
// Each chart: what it plots, from two successive reads of the figures (`rate` turns a counter
// into a per-second rate; `value` plots the latest value).
const charts = [
  { id: "accepted", title: "comments accepted /s", series: (now, before, dt) => ({ accepted: rate(now, before, dt, "danmaku_comments_accepted_total") }) },
  { id: "rejected", title: "comments rejected /s by reason", series: (now, before, dt) => byLabel(now, before, dt, "danmaku_comments_rejected_total", "reason") },
  { id: "deliveries", title: "deliveries /s", series: (now, before, dt) => ({ deliveries: rate(now, before, dt, "danmaku_deliveries_total") }) },
  { id: "frames", title: "frames /s", series: (now, before, dt) => ({ frames: rate(now, before, dt, "danmaku_frames_total") }) },
  { id: "bytes", title: "bytes sent /s", series: (now, before, dt) => ({ bytes: rate(now, before, dt, "danmaku_sent_bytes_total") }) },
  { id: "viewers", title: "viewers", series: (now) => ({ viewers: value(now, "danmaku_viewers") }) },
  { id: "window", title: "batch window in force (ms) by loop", series: (now) => byLabelValue(now, "danmaku_batch_window_seconds", "loop", 1000) },
  { id: "delay", title: "delay of the slowest room (ms) by loop", series: (now) => byLabelValue(now, "danmaku_room_delay_seconds", "loop", 1000) },
  { id: "overloaded", title: "overloaded rooms (widened past 250 ms) by loop", series: (now) => byLabelValue(now, "danmaku_overloaded_rooms", "loop", 1) },
  { id: "slow", title: "slow-consumer closes /s", series: (now, before, dt) => ({ closes: rate(now, before, dt, "danmaku_slow_consumer_closes_total") }) },
  { id: "lag", title: "bus publish-to-push lag (ms, mean)", series: (now, before) => ({ lag: mean(now, before, "danmaku_bus_latency_seconds") * 1000 }) },
];
const colours = ["#4fc3f7", "#ff8a65", "#aed581", "#ffd54f", "#ba68c8", "#f06292", "#4db6ac", "#e0e0e0"];
const points = {};  // chart id → series name → values
let previous = null, timer = null;

function value(figures, name) { return figures.metrics[name] ?? 0; }
function rate(now, before, dt, name) { return Math.max(0, (value(now, name) - value(before, name)) / dt); }
function mean(now, before, name) {
  const count = value(now, name + "_count") - value(before, name + "_count");
  return count > 0 ? (value(now, name + "_sum") - value(before, name + "_sum")) / count : 0;
}
/// The series of `name` split by `label`: `{labelValue: series key}`.
function labelled(figures, name, label) {
  const found = {};
  const pattern = new RegExp(`^${name}\\{(?:.*,)?${label}="([^"]*)"`);
  for (const key of Object.keys(figures.metrics)) {
    const match = key.match(pattern);
    if (match) found[match[1]] = key;
  }
  return found;
}
function byLabel(now, before, dt, name, label) {
  const result = {};
  for (const [labelValue, key] of Object.entries(labelled(now, name, label))) result[labelValue] = rate(now, before, dt, key);
  return result;
}
function byLabelValue(now, name, label, scale) {
  const result = {};
  for (const [labelValue, key] of Object.entries(labelled(now, name, label))) result[`loop ${labelValue}`] = now.metrics[key] * scale;
  return result;
}

function setStatus(state, text) {
  const box = document.getElementById("status");
  box.dataset.state = state;
  box.textContent = text;
}

function buildCharts() {
  const box = document.getElementById("charts");
  for (const chart of charts) {
    const figure = document.createElement("figure");
    figure.innerHTML = `<figcaption><span></span><b></b></figcaption><canvas width="600" height="220"></canvas>`;
    figure.querySelector("span").textContent = chart.title;
    figure.querySelector("canvas").id = `chart-${chart.id}`;
    figure.querySelector("canvas").dataset.points = "0";
    box.append(figure);
    points[chart.id] = {};
  }
}

/// Draws one chart's series as lines, scaled to the largest value shown.
function draw(chart) {
  const canvas = document.getElementById(`chart-${chart.id}`);
  const context = canvas.getContext("2d");
  const series = Object.entries(points[chart.id]);
  context.clearRect(0, 0, canvas.width, canvas.height);
  let top = 0, count = 0;
  for (const [, values] of series) for (const v of values) top = Math.max(top, v);
  top = top > 0 ? top * 1.1 : 1;
  series.forEach(([name, values], index) => {
    count = Math.max(count, values.length);
    context.strokeStyle = colours[index % colours.length];
    context.lineWidth = 2;
    context.beginPath();
    values.forEach((v, i) => {
      const x = canvas.width - (values.length - 1 - i) * (canvas.width / (history - 1));
      const y = canvas.height - 4 - (v / top) * (canvas.height - 8);
      if (i === 0) context.moveTo(x, y); else context.lineTo(x, y);
    });
    context.stroke();
    context.fillStyle = colours[index % colours.length];
    context.font = "22px system-ui";
    context.fillText(name, 8, 26 + index * 26);
  });
  canvas.dataset.points = String(count);
  const latest = series.map(([name, values]) => `${format(values[values.length - 1])}`).join(" / ");
  canvas.previousElementSibling.querySelector("b").textContent = latest;
}

function format(v) {
  if (v === undefined) return "–";
  if (v >= 1e6) return (v / 1e6).toFixed(1) + "M";
  if (v >= 1e4) return (v / 1e3).toFixed(0) + "k";
  return v >= 10 ? v.toFixed(0) : v.toFixed(1);
}

/// Reads closer together than this are not a point: the live read that follows the history's
/// newest sample may come milliseconds after it, and a rate over so short a span reads 0 or a
/// spike (the chart would open on it).
const shortestSpanMs = 500;

/// Adds one read of the figures (`{at, metrics}`) to the charts' points, without drawing.
function plot(figures) {
  // A read no newer than the last one would divide by nothing; one only just after it, by a sliver.
  if (previous && figures.at - previous.at < shortestSpanMs) return;
  if (previous) {
    const dt = (figures.at - previous.at) / 1000;
    for (const chart of charts) {
      const now = chart.series(figures, previous, dt);
      for (const [name, v] of Object.entries(now)) {
        const values = points[chart.id][name] ??= [];
        values.push(Number.isFinite(v) ? v : 0);
        if (values.length > history) values.shift();
      }
    }
  }
  previous = figures;
}

function record(figures) {
  plot(figures);
  for (const chart of charts) draw(chart);
  document.getElementById("node").textContent = `node ${figures.node}`;
  showRooms(figures.rooms);
  showNodes(figures.nodes);
}

function cell(row, text) {
  const td = document.createElement("td");
  td.textContent = text;
  row.append(td);
  return td;
}

function showRooms(rooms) {
  const body = document.querySelector("#rooms tbody");
  // Rows whose inputs are being edited are kept as they are.
  if (body.contains(document.activeElement) && document.activeElement.tagName === "INPUT") return;
  body.replaceChildren();
  for (const room of rooms) {
    const row = document.createElement("tr");
    row.dataset.room = room.room;
    cell(row, room.room);
    cell(row, String(room.online)).className = "online";
    cell(row, String(room.commentsPerSecond));
    cell(row, String(room.lastSeq));
    setting(row, room, "displayPerSecond", room.displayPerSecond ?? "", "off");
    setting(row, room, "slowModeSeconds", room.slowModeSeconds ?? 0, "0");
    const ban = cell(row, "");
    ban.innerHTML = `<input class="ban-user" placeholder="user id"><input class="ban-seconds" type="number" min="1" value="600"><button>ban</button>`;
    ban.querySelector("button").onclick = () => banUser(room.room, ban.querySelector(".ban-user").value, Number(ban.querySelector(".ban-seconds").value));
    const reports = cell(row, "");
    const open = document.createElement("button");
    open.textContent = "reports";
    open.className = "open-reports";
    open.onclick = () => showQueue("rooms", room.room);
    reports.append(open);
    const watch = cell(row, "");
    const link = document.createElement("a");
    link.href = `/rooms/${encodeURIComponent(room.room)}`;
    link.target = "_blank";
    link.textContent = "watch";
    watch.append(link);
    body.append(row);
  }
}

/// A cell with an input and a "set" button that changes one room setting, keeping the others.
function setting(row, room, name, current, placeholder) {
  const td = cell(row, "");
  const input = document.createElement("input");
  input.type = "number";
  input.min = "0";
  input.className = name;
  input.placeholder = placeholder;
  input.value = current;
  const button = document.createElement("button");
  button.textContent = "set";
  button.className = `set-${name}`;
  button.onclick = () => updateSettings(room, name, input.value);
  td.append(input, button);
}

// Sends only the setting that changed: the server merges it into the room's settings, so the
// others (rate, stylesFor, mergeRepeats) keep their values. An empty or 0 display budget is null
// (no budget); an empty slow mode is 0 (off).
async function updateSettings(room, name, raw) {
  const number = raw === "" ? null : Number(raw);
  const change = name === "displayPerSecond" ? { displayPerSecond: number || null } : { slowModeSeconds: number ?? 0 };
  await act(`/v1/rooms/${encodeURIComponent(room.room)}/settings`, "PATCH", change, `${room.room}: ${name} set`);
}

async function banUser(room, user, seconds) {
  if (!user) return setStatus("error", "name a user to ban");
  await act(`/v1/rooms/${encodeURIComponent(room)}/bans`, "POST", { user, seconds }, `${user} banned from ${room}`);
}

async function act(path, method, body, done) {
  const response = await fetch(path, {
    method, headers: { "Authorization": `Bearer ${sessionStorage.getItem(tokenKey)}`, "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  const answer = await response.json().catch(() => ({}));
  if (response.ok) setStatus("live", done);
  else setStatus("error", `${answer.error?.code ?? response.status}: ${answer.error?.message ?? ""}`);
}

/// The queue on show: `{kind: "rooms" | "videos", name}`, or null.
let queue = null;

function showQueue(kind, name) {
  document.getElementById("queue-kind").value = kind;
  document.getElementById("queue-name").value = name;
  queue = name ? { kind, name } : null;
  refreshQueue();
}

function queuePath(suffix = "") {
  return `/v1/${queue.kind}/${encodeURIComponent(queue.name)}/reports${suffix}`;
}

/// Reads the queue on show and lists it, most reported first, each with dismiss, remove and ban.
async function refreshQueue() {
  const body = document.querySelector("#reports tbody"), status = document.getElementById("queue-status");
  if (!queue) { body.replaceChildren(); status.textContent = ""; return; }
  const shown = queue;
  const response = await fetch(queuePath(), { headers: { "Authorization": `Bearer ${sessionStorage.getItem(tokenKey)}` } });
  const answer = await response.json().catch(() => ({}));
  if (queue !== shown) return;  // another queue was asked for meanwhile
  if (!response.ok) {
    body.replaceChildren();
    status.textContent = `${answer.error?.code ?? response.status}: ${answer.error?.message ?? ""}`;
    return;
  }
  status.textContent = `${answer.comments.length} reported in ${shown.kind === "rooms" ? "room" : "video"} ${shown.name}`;
  body.replaceChildren();
  for (const entry of answer.comments) {
    const row = document.createElement("tr");
    row.dataset.id = entry.id;
    row.dataset.hidden = String(entry.hidden);
    cell(row, String(entry.reporters)).className = "reporters";
    cell(row, entry.text).className = "text";
    cell(row, `${entry.user.name} (${entry.user.id})`);
    const reasons = {};
    for (const report of entry.reports) reasons[report.reason] = (reasons[report.reason] ?? 0) + 1;
    const notes = entry.reports.filter((report) => report.text).map((report) => `“${report.text}”`);
    cell(row, Object.entries(reasons).map(([reason, count]) => `${reason} ×${count}`).concat(notes).join(", "));
    cell(row, entry.hidden ? "hidden pending review" : "shown").className = "state";
    const actions = cell(row, "");
    for (const action of ["dismiss", "remove", "ban"]) {
      const button = document.createElement("button");
      button.textContent = action;
      button.className = `report-${action}`;
      button.onclick = async () => {
        await act(queuePath(`/${encodeURIComponent(entry.id)}`), "POST", { action }, `${action}: done`);
        refreshQueue();
      };
      actions.append(button);
    }
    body.append(row);
  }
}

document.getElementById("queue-form").onsubmit = (event) => {
  event.preventDefault();
  showQueue(document.getElementById("queue-kind").value, document.getElementById("queue-name").value.trim());
};

function showNodes(nodes) {
  const body = document.querySelector("#nodes tbody");
  body.replaceChildren();
  for (const node of nodes) {
    const row = document.createElement("tr");
    cell(row, node.node);
    cell(row, String(node.viewers));
    cell(row, String(node.rooms));
    body.append(row);
  }
}

async function poll() {
  const token = sessionStorage.getItem(tokenKey);
  if (!token) return;
  try {
    // The first read brings the node's last 15 minutes, so the charts open filled.
    const path = previous ? "/v1/admin/stats" : "/v1/admin/stats?since=0";
    const response = await fetch(path, { headers: { "Authorization": `Bearer ${token}` } });
    const answer = await response.json();
    if (!response.ok) {
      setStatus("error", `${answer.error?.code ?? response.status}: ${answer.error?.message ?? "refused"}`);
      return;
    }
    for (const sample of answer.history ?? []) plot(sample);
    record(answer);
    if (document.getElementById("status").dataset.state !== "live") setStatus("live", "live");
  } catch (error) {
    setStatus("error", `unreachable: ${error}`);
  }
}

function start() {
  previous = null;
  for (const chart of charts) points[chart.id] = {};
  clearInterval(timer);
  poll();
  timer = setInterval(poll, 1000);
}

document.getElementById("login").onsubmit = (event) => {
  event.preventDefault();
  sessionStorage.setItem(tokenKey, document.getElementById("token").value);
  setStatus("idle", "connecting");
  start();
};

buildCharts();
if (sessionStorage.getItem(tokenKey)) start();
