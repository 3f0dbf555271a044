// Danmaku playback: a video's pool played against a clock (docs/PROTOCOL.md, "Video danmaku pools").
import { DanmakuVideo } from "/client.js";

/// A clock for a page without a video: plays, pauses and seeks over `length` ms.
export class StandInClock {
  constructor(length) {
    this.length = length;
    this.base = 0;
    this.started = null;
  }
  get paused() { return this.started === null; }
  /// The position, ms.
  time() {
    const position = this.started === null ? this.base : this.base + performance.now() - this.started;
    return Math.min(position, this.length);
  }
  play() { if (this.started === null) this.started = performance.now(); }
  pause() { this.base = this.time(); this.started = null; }
  seek(ms) {
    this.base = Math.max(0, Math.min(ms, this.length));
    if (this.started !== null) this.started = performance.now();
  }
}

/// The clock of an HTML5 video element (its own controls play, pause and seek it).
export class VideoElementClock {
  constructor(element) { this.element = element; }
  get paused() { return this.element.paused; }
  get length() { return (this.element.duration || 0) * 1000; }
  time() { return this.element.currentTime * 1000; }
  play() { this.element.play(); }
  pause() { this.element.pause(); }
  seek(ms) { this.element.currentTime = ms / 1000; }
}

/// Shows the comments of `pool` (a `DanmakuVideo`) as `clock` passes their offsets. Options:
/// `onComment(comment)`, `onSeek(ms)`, `onError(error)`.
export class VideoPlayback {
  /// A jump of the clock larger than this (ms), or backwards, is a seek.
  static seekThreshold = 1500;
  /// How long before a segment's end the next one is fetched, ms.
  static lookAhead = 10000;

  constructor(pool, clock, options = {}) {
    this.pool = pool;
    this.clock = clock;
    this.options = options;
    this.segments = new Map();  // n → comments in offset order, or null while loading
    this.cursor = 0;            // comments with an earlier offset were shown (or passed by a seek)
    this.lastClock = 0;
  }

  /// Follows the clock every animation frame until `stop()`.
  start() {
    const frame = () => { this.tick(); this.frame = requestAnimationFrame(frame); };
    frame();
  }

  stop() { cancelAnimationFrame(this.frame); }

  /// One step: a jump of the clock starts over there; otherwise the comments the clock passed.
  tick() {
    const now = this.clock.time(), length = DanmakuVideo.segmentMilliseconds;
    if (now < this.lastClock || now - this.lastClock > VideoPlayback.seekThreshold) {
      this.cursor = now;
      // Fetched again as needed (a 304 when unchanged): others may have commented meanwhile.
      this.segments.clear();
      this.options.onSeek?.(now);
    }
    this.lastClock = now;
    const current = Math.floor(now / length);
    this.#load(current);
    if (now - current * length > length - VideoPlayback.lookAhead) this.#load(current + 1);
    // Up to a segment still loading: its comments are shown once it is in.
    while (this.cursor < now) {
      const n = Math.floor(this.cursor / length);
      const comments = this.segments.get(n);
      if (!comments) break;
      const end = Math.min(now, (n + 1) * length);
      for (let index = firstAtOrAfter(comments, this.cursor); index < comments.length && comments[index].offsetMs < end; index++) {
        this.options.onComment?.(comments[index]);
      }
      this.cursor = end;
    }
  }

  /// A comment this page posted: into its segment, and shown now if the clock has passed it.
  add(comment) {
    const comments = this.segments.get(Math.floor(comment.offsetMs / DanmakuVideo.segmentMilliseconds));
    if (comments) comments.splice(firstAtOrAfter(comments, comment.offsetMs + 1), 0, comment);
    if (comment.offsetMs < this.cursor) this.options.onComment?.(comment);
  }

  #load(n) {
    if (this.segments.has(n) || n * DanmakuVideo.segmentMilliseconds > (this.clock.length ?? Infinity)) return;
    this.segments.set(n, null);
    this.pool.segment(n).then(
      (comments) => { if (this.segments.get(n) === null) this.segments.set(n, comments); },
      (error) => { this.segments.set(n, []); this.options.onError?.(error); });
  }
}

/// The index of the first of `comments` (in offset order) at or after `offset`.
function firstAtOrAfter(comments, offset) {
  let low = 0, high = comments.length;
  while (low < high) {
    const middle = (low + high) >> 1;
    if (comments[middle].offsetMs < offset) low = middle + 1; else high = middle;
  }
  return low;
}
