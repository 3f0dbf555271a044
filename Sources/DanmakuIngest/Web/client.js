// Danmaku viewer client: one room over the viewer WebSocket (docs/PROTOCOL.md).

/// A comment's weight now, 1–10, as the server works it out (`CommentWeight`, docs/PROTOCOL.md,
/// "Shielding"): the weight it was accepted with (`weight`; for a comment without one, or with one
/// outside 1–10, its author's standing: 8 for the room's staff, 2 anonymous, 5 anyone else) plus
/// one per doubling of its likes (up to four more), at most 10.
export function commentWeight(comment) {
  const user = comment.user || {};
  const weight = comment.weight;
  const accepted = Number.isInteger(weight) && weight >= 1 && weight <= 10
    ? weight : user.role ? 8 : String(user.id || "").startsWith("anon-") ? 2 : 5;
  const likes = Math.max(0, Math.min(Number(comment.likes) || 0, 65536));
  return Math.min(10, accepted + Math.min(4, Math.floor(Math.log2(likes + 1))));
}

/// `level` as a shielding level: an integer from 1 (everything) to 10; anything else is 1.
export function shieldingLevel(level) {
  return Number.isInteger(level) && level >= 1 && level <= 10 ? level : 1;
}

export class DanmakuConnection {
  /// `room`: the room id. Options: `token` (for post), `server` (default: this page's origin),
  /// `shieldingLevel` (1–10, default 1: comments that weigh less, `commentWeight`, are not passed
  /// to `onComment`; notices always are), `onHello(message)`, `onComment(comment)`
  /// (`comment.repeats`: how many identical comments it stands for, when the room merges
  /// repeats), `onComments(message)` (after its comments, e.g. for `shed`), `onRetract(message)`,
  /// `onLikes(likes)` (`[{id, seq, count}]`), `onGap(message)`, `onOnline(count)`,
  /// `onError(message)`, `onRestart(message)` (the room started a new numbering), `onStatus(state)`.
  constructor(room, options = {}) {
    this.room = room;
    this.options = options;
    this.shieldingLevel = shieldingLevel(options.shieldingLevel ?? 1);
    this.lastSeq = options.since ?? null;
    this.epoch = options.epoch ?? null;
    this.backoff = 500;
    this.socket = null;
    this.closed = false;
  }

  /// Opens the socket; it reopens by itself until `close()`.
  connect() {
    if (this.closed) return;
    const origin = this.options.server ?? location.origin;
    const base = origin.replace(/^http/, "ws");
    // Wire format 2: comments leave out what the batch repeats; filled back in below.
    let query = "?v=2";
    if (this.lastSeq !== null) query += `&since=${this.lastSeq}` + (this.epoch === null ? "" : `&epoch=${this.epoch}`);
    this.#status(this.lastSeq === null ? "connecting" : "reconnecting");
    const socket = new WebSocket(`${base}/v1/rooms/${encodeURIComponent(this.room)}/ws${query}`);
    this.socket = socket;
    socket.onmessage = (event) => {
      let message;
      try { message = JSON.parse(event.data); } catch { return; }
      this.#receive(message);
    };
    socket.onclose = () => {
      if (this.closed || this.socket !== socket) return;
      this.#status("reconnecting");
      // Each wait drawn from the upper half of the backoff: the viewers of a node that went away
      // come back spread over a quarter second and more, not all in the same millisecond.
      setTimeout(() => this.connect(), this.backoff * (0.5 + Math.random() / 2));
      this.backoff = Math.min(this.backoff * 2, 10000);
    };
  }

  /// Hides comments that weigh less than `level` (1–10; 1 shows everything) from now on.
  setShieldingLevel(level) {
    this.shieldingLevel = shieldingLevel(level);
  }

  /// Closes the socket for good.
  close() {
    this.closed = true;
    this.socket?.close();
  }

  /// Posts a comment (`{text, color, mode}`) over HTTP; resolves to `{status, answer}` (201 and
  /// `{id, seq, …}`, or the error status and `{error: {code, message}}`).
  async post(comment) {
    return this.#postJSON("/comments", comment);
  }

  /// Likes a comment (by its `id` and `seq`, as received); resolves to `{status, answer}` (200 and
  /// `{id, seq, likes}`, or the error). A user's second like of a comment is not counted again.
  async like(id, seq) {
    return this.#postJSON(`/comments/${encodeURIComponent(id)}/likes`, { seq });
  }

  /// Reports a comment (by its `id` and `seq`) to the room's staff with `reason` (`spam`, `abuse`,
  /// `spoiler`, `off_topic`, `other`) and optional `text`; resolves to `{status, answer}` (200 and
  /// `{id, seq, reporters, hidden}`, or the error: `already_reported` for a second report).
  async report(id, seq, reason, text) {
    return this.#postJSON(`/comments/${encodeURIComponent(id)}/reports`, { reason, text: text || null, seq });
  }

  async #postJSON(path, body) {
    return postJSON(this.options, `/v1/rooms/${encodeURIComponent(this.room)}${path}`, body);
  }

  #receive(message) {
    const on = this.options;
    if (message.type === "hello") {
      this.backoff = 500;
      // A new epoch is a new numbering (the room was forgotten, or a server without an archive
      // restarted): the server sends it from its start, and every seq of it is new. A numbering
      // behind what was seen started over too (a server without epochs). (Epoch 0 was a room
      // with no numbering yet; the server takes its seqs as the next one's.)
      if (this.lastSeq !== null && this.epoch && message.epoch !== undefined && message.epoch !== this.epoch) {
        this.lastSeq = 0;
        on.onRestart?.(message);
      } else if (this.lastSeq !== null && message.lastSeq < this.lastSeq) {
        this.lastSeq = message.lastSeq;
        on.onRestart?.(message);
      }
      if (this.lastSeq === null) this.lastSeq = message.lastSeq;
      if (message.epoch !== undefined) this.epoch = message.epoch;
      this.#status("live");
      on.onHello?.(message);
      on.onOnline?.(message.online);
    } else if (message.type === "comments") {
      // Merged repeats: a kept comment's seq, then the seqs it stands for ("666" × 48).
      const repeats = new Map((message.merged ?? []).map((group) => [group[0], group.length]));
      for (const comment of message.comments) {
        if (this.lastSeq !== null && comment.seq <= this.lastSeq) continue;  // seen before a reconnect
        this.lastSeq = comment.seq;
        comment.room ??= message.room;
        if (repeats.has(comment.seq)) comment.repeats = repeats.get(comment.seq);
        if (comment.kind !== "notice") {
          comment.color ??= "#ffffff";
          comment.mode ??= "scroll";
          if (this.shieldingLevel > 1 && commentWeight(comment) < this.shieldingLevel) continue;
        }
        on.onComment?.(comment);
      }
      if (message.lastSeq && (this.lastSeq === null || message.lastSeq > this.lastSeq)) this.lastSeq = message.lastSeq;
      on.onComments?.(message);
    } else if (message.type === "online") {
      on.onOnline?.(message.count);
    } else if (message.type === "retract") {
      on.onRetract?.(message);
    } else if (message.type === "likes") {
      on.onLikes?.(message.likes);
    } else if (message.type === "gap") {
      on.onGap?.(message);
    } else if (message.type === "error") {
      on.onError?.(message);
    }
  }

  #status(state) { this.options.onStatus?.(state); }
}

/// A recorded video's comment pool over the HTTP API: segments of six minutes, posts at an
/// offset, likes.
export class DanmakuVideo {
  /// A segment's length, ms: segment `n` holds offsets from `n × 360000` up to the next.
  static segmentMilliseconds = 360000;

  /// `video`: the video id. Options: `token` (for posts and likes), `server` (default: this origin),
  /// `shieldingLevel` (1–10, default 1: segments are fetched with `?minWeight=`, so comments that
  /// weigh less never arrive).
  constructor(video, options = {}) {
    this.video = video;
    this.options = options;
    this.shieldingLevel = shieldingLevel(options.shieldingLevel ?? 1);
  }

  /// Fetches segments without the comments that weigh less than `level` (1–10) from now on.
  setShieldingLevel(level) {
    this.shieldingLevel = shieldingLevel(level);
  }

  /// Segment `n`'s comments that weigh at least the shielding level, in offset order. The browser
  /// revalidates its copy with the segment's ETag every time (`no-cache`), so an unchanged
  /// segment costs a 304.
  async segment(n) {
    const origin = this.options.server ?? "";
    const query = this.shieldingLevel > 1 ? `?minWeight=${this.shieldingLevel}` : "";
    const response = await fetch(`${origin}/v1/videos/${encodeURIComponent(this.video)}/segments/${n}${query}`, { cache: "no-cache" });
    if (!response.ok) throw new Error(`segment ${n}: ${response.status}`);
    return (await response.json()).comments;
  }

  /// Posts a comment at `offsetMs` (`{text, offsetMs, color, mode, size}`); resolves to
  /// `{status, answer}` (201 and `{id, seq, offsetMs, ts}`, or the error).
  async post(comment) {
    return postJSON(this.options, `/v1/videos/${encodeURIComponent(this.video)}/comments`, comment);
  }

  /// Likes comment `id`; resolves to `{status, answer}` (200 and `{id, seq, likes}`, or the error).
  async like(id) {
    return postJSON(this.options, `/v1/videos/${encodeURIComponent(this.video)}/comments/${encodeURIComponent(id)}/likes`, {});
  }

  /// Reports comment `id` to the video's staff, as `DanmakuConnection.report` does.
  async report(id, reason, text) {
    return postJSON(this.options, `/v1/videos/${encodeURIComponent(this.video)}/comments/${encodeURIComponent(id)}/reports`, { reason, text: text || null });
  }
}

/// POSTs `body` as JSON to `path` (with `options.token`, when there is one); resolves to
/// `{status, answer}`.
// One Idempotency-Key per post, sent again on each retry: a retry after a lost answer, a dropped
// connection or a 503 gets the first answer back instead of posting twice.
async function postJSON(options, path, body) {
  const headers = { "Content-Type": "application/json", "Idempotency-Key": crypto.randomUUID() };
  if (options.token) headers["Authorization"] = `Bearer ${options.token}`;
  for (let attempt = 0; ; attempt++) {
    let response;
    try {
      response = await fetch(`${options.server ?? ""}${path}`, { method: "POST", body: JSON.stringify(body), headers });
    } catch (error) {
      if (attempt >= 2) throw error;
      await new Promise((resolve) => setTimeout(resolve, 500 * (attempt + 1)));
      continue;
    }
    // An answer that is not JSON (a proxy's 502 page) is told as an error of its status.
    const answer = await response.json().catch(() => ({ error: { code: String(response.status), message: response.statusText } }));
    const code = answer?.error?.code;
    const again = response.status === 503 || code === "idempotency_in_progress";
    if (!again || attempt >= 2) return { status: response.status, answer };
    const wait = Number(response.headers.get("Retry-After")) || 1;
    await new Promise((resolve) => setTimeout(resolve, Math.min(wait, 5) * 1000));
  }
}
