// Danmaku screen: comments flying over a video element (docs/PROTOCOL.md, "Viewer page").
import { commentWeight } from "/client.js";

/// What a viewer chose to see, kept in the browser (`localStorage`): each field's default, and
/// the range a stored value is held to (a stored value out of range or of another type is reset).
export class DisplaySettings {
  static key = "danmaku.display";
  static defaults = {
    hideScroll: false, hideTop: false, hideBottom: false, hideReverse: false, hideColored: false,
    blockedWords: [], blockedUsers: [],
    opacity: 100, speed: 1, fontScale: 100, area: 100, keepBottomClear: false, shieldLevel: 1,
  };
  static ranges = { opacity: [10, 100], speed: [0.25, 3], fontScale: [50, 200], area: [25, 100], shieldLevel: [1, 10] };

  constructor(values = {}) {
    Object.assign(this, DisplaySettings.defaults);
    this.update(values);
  }

  /// Takes what is valid of `values` (a bad stored value keeps the default).
  update(values) {
    for (const [name, fallback] of Object.entries(DisplaySettings.defaults)) {
      const value = values?.[name];
      if (value === undefined) continue;
      if (Array.isArray(fallback)) {
        if (Array.isArray(value)) this[name] = value.filter((item) => typeof item === "string" && item.trim() !== "").map((item) => item.trim()).slice(0, 500);
      } else if (typeof value === typeof fallback) {
        const range = DisplaySettings.ranges[name];
        this[name] = range ? Math.min(range[1], Math.max(range[0], Number.isFinite(value) ? value : fallback)) : value;
      }
    }
    return this;
  }

  static load(storage = globalThis.localStorage) {
    try { return new DisplaySettings(JSON.parse(storage?.getItem(DisplaySettings.key) || "{}")); } catch { return new DisplaySettings(); }
  }

  save(storage = globalThis.localStorage) {
    const values = {};
    for (const name of Object.keys(DisplaySettings.defaults)) values[name] = this[name];
    try { storage?.setItem(DisplaySettings.key, JSON.stringify(values)); } catch { /* private mode: kept for this page only */ }
  }

  /// Whether `comment` is kept off the screen: lighter than the shielding level, its mode hidden,
  /// coloured while colours are hidden, a blocked word in its text (case-insensitive), or its
  /// author blocked (by id or name).
  hides(comment) {
    if (this.shieldLevel > 1 && commentWeight(comment) < this.shieldLevel) return true;
    const mode = comment.mode || "scroll";
    if ((mode === "scroll" && this.hideScroll) || (mode === "top" && this.hideTop) || (mode === "bottom" && this.hideBottom)
        || (mode === "reverse" && this.hideReverse)) return true;
    if (this.hideColored && (comment.color || "#ffffff").toLowerCase() !== "#ffffff") return true;
    const text = String(comment.text ?? "").toLowerCase();
    if (this.blockedWords.some((word) => text.includes(word.toLowerCase()))) return true;
    const user = comment.user || {};
    return this.blockedUsers.some((blocked) => blocked === user.id || blocked === user.name);
  }
}

export class DanmakuScreen {
  /// `stage`: the positioned element to draw in. Options: `onCount({shown, heldBack, hidden})`,
  /// `settings` (a `DisplaySettings`; the defaults show everything).
  constructor(stage, options = {}) {
    this.stage = stage;
    this.options = options;
    this.baseLaneHeight = 30;
    this.baseScrollSeconds = 8;
    this.fixedSeconds = 4;
    this.shown = 0;
    this.heldBack = 0;
    this.hidden = 0;
    this.apply(options.settings || new DisplaySettings());
    this.clear();
  }

  /// Takes new display settings: comments flown from now on follow them, and the opacity and
  /// font scale apply to those on screen too.
  apply(settings) {
    this.settings = settings;
    this.laneHeight = Math.round(this.baseLaneHeight * settings.fontScale / 100);
    this.scrollSeconds = this.baseScrollSeconds / settings.speed;
    this.stage.style.setProperty("--danmaku-opacity", String(settings.opacity / 100));
    this.stage.style.setProperty("--danmaku-scale", String(settings.fontScale / 100));
  }

  /// Takes every comment off the screen and frees every lane (a video mode's seek).
  clear() {
    for (const element of this.stage.querySelectorAll(".danmaku")) element.remove();
    this.lanes = { scroll: [], top: [], bottom: [] };  // per lane: when it is free again (ms)
    // Scrolling lanes carry both directions: when the last comment in a lane is off screen (ms). A
    // reverse comment takes only an empty lane, and a lane it flies in takes no other.
    this.lanesClear = [];
  }

  /// Takes comment `id` off the screen (a retraction).
  remove(id) {
    for (const element of this.stage.querySelectorAll(`[data-id="${CSS.escape(String(id))}"]`)) element.remove();
  }

  /// Puts a comment on screen in the first free lane of its mode; a full screen holds it back,
  /// and one the viewer's settings hide is counted, not drawn.
  fly(comment) {
    if (this.settings.hides(comment)) { this.hidden++; this.#count(); return; }
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
    const width = this.stage.clientWidth, now = performance.now(), laneHeight = this.laneHeight;
    // The share of the screen comments may use, from the top; with the bottom kept clear (for a
    // video's own subtitles) the lowest 15 % is left out of it.
    const usable = this.stage.clientHeight * Math.min(this.settings.area / 100, this.settings.keepBottomClear ? 0.85 : 1);
    const count = Math.max(1, Math.floor(usable / laneHeight) - 1);
    const reverse = comment.mode === "reverse";
    const mode = reverse ? "scroll" : comment.mode in this.lanes ? comment.mode : "scroll";
    const busy = this.lanes[mode], lanesClear = this.lanesClear;
    const free = (lane) => ((reverse ? lanesClear : busy)[lane] || 0) <= now;
    let lane = 0;
    while (lane < count && !free(lane)) lane++;
    if (lane === count) { this.heldBack++; this.#count(); return; }
    this.stage.appendChild(element);
    this.shown++; this.#count();
    if (mode === "scroll") {
      // One speed for every comment, so a later one never catches up with the one ahead of it.
      const speed = width / this.scrollSeconds, own = element.offsetWidth, flight = (width + own) / speed * 1000;
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
      // Bottom comments stand on the lowest usable lane, above a bottom kept clear.
      const floor = this.stage.clientHeight - usable;
      if (mode === "top") element.style.top = `${offset}px`; else element.style.bottom = `${floor + offset}px`;
      busy[lane] = now + this.fixedSeconds * 1000;
      setTimeout(() => element.remove(), this.fixedSeconds * 1000);
    }
  }

  #count() { this.options.onCount?.({ shown: this.shown, heldBack: this.heldBack, hidden: this.hidden }); }
}
