// Danmaku screen: comments flying over a video element (docs/PROTOCOL.md, "Viewer page").
export class DanmakuScreen {
  /// `stage`: the positioned element to draw in. Options: `onCount({shown, heldBack})`.
  constructor(stage, options = {}) {
    this.stage = stage;
    this.options = options;
    this.laneHeight = 30;
    this.scrollSeconds = 8;
    this.fixedSeconds = 4;
    this.shown = 0;
    this.heldBack = 0;
    this.clear();
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

  /// Puts a comment on screen in the first free lane of its mode; a full screen holds it back.
  fly(comment) {
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
    const count = Math.max(1, Math.floor(this.stage.clientHeight / laneHeight) - 1);
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
      if (mode === "top") element.style.top = `${offset}px`; else element.style.bottom = `${offset}px`;
      busy[lane] = now + this.fixedSeconds * 1000;
      setTimeout(() => element.remove(), this.fixedSeconds * 1000);
    }
  }

  #count() { this.options.onCount?.({ shown: this.shown, heldBack: this.heldBack }); }
}
