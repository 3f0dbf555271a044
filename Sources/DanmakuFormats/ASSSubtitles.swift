// Danmaku — a live-stream bullet-comment service.

import DanmakuCore

/// How a pool is laid out as ASS subtitles, as danmaku2ass takes it: the video's size in
/// pixels, how long a scrolling comment takes to cross it, how long a top or bottom one stays.
public struct ASSLayout: Sendable, Equatable {
    /// `PlayResX`: the width comments cross.
    public var width: Int
    /// `PlayResY`: the height lanes divide.
    public var height: Int
    /// Seconds a scrolling (or reverse) comment takes to cross the screen (`--duration`).
    public var scrollSeconds: Int
    /// Seconds a top or bottom comment stays.
    public var fixedSeconds: Int
    /// The font, as fontconfig names it.
    public var fontName: String

    /// The widths and heights accepted from clients, in pixels.
    public static let sizes: ClosedRange<Int> = 64...7680
    /// The scroll durations accepted from clients, in seconds.
    public static let durations: ClosedRange<Int> = 1...60

    /// danmaku2ass's defaults; a value out of `sizes` or `durations` is clamped into it.
    public init(width: Int = 1920, height: Int = 1080, scrollSeconds: Int = 8, fixedSeconds: Int = 5, fontName: String = "sans-serif") {
        self.width = min(max(width, Self.sizes.lowerBound), Self.sizes.upperBound)
        self.height = min(max(height, Self.sizes.lowerBound), Self.sizes.upperBound)
        self.scrollSeconds = min(max(scrollSeconds, Self.durations.lowerBound), Self.durations.upperBound)
        self.fixedSeconds = min(max(fixedSeconds, Self.durations.lowerBound), Self.durations.upperBound)
        self.fontName = fontName
    }

    /// A normal comment's font size in pixels: 48 at 1080 lines, in proportion to the height (a
    /// site's 25 px at its player's 562 lines).
    public var fontSize: Int { max(8, height * 2 / 45) }

    /// A lane's height: a normal comment's line with its outline. A small comment takes one
    /// lane, a large one two.
    public var laneHeight: Int { fontSize + 4 }

    /// How many lanes the screen holds.
    public var lanes: Int { max(1, height / laneHeight) }

    /// `size`'s font size in pixels: 18, 25 and 36 of a site's 25 px.
    public func fontSize(of size: CommentSize) -> Int {
        switch size {
        case .small: fontSize * 18 / 25
        case .normal: fontSize
        case .large: fontSize * 36 / 25
        }
    }

    /// How wide `text` is drawn at `fontSize`, estimated generously: a wide (East Asian or emoji)
    /// character one em, any other three fifths of one, plus the outline.
    public static func estimatedWidth(of text: String, fontSize: Int) -> Int {
        var width = 4
        for scalar in text.unicodeScalars {
            width += isWide(scalar) ? fontSize : (fontSize * 3 + 4) / 5
        }
        return width
    }

    static func isWide(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x1100...0x115F, 0x2E80...0x303E, 0x3041...0x33FF, 0x3400...0x4DBF, 0x4E00...0x9FFF, 0xA000...0xA4CF, 0xAC00...0xD7A3,
             0xF900...0xFAFF, 0xFE30...0xFE4F, 0xFF00...0xFF60, 0xFFE0...0xFFE6, 0x1F300...0x1FAFF, 0x20000...0x3FFFD:
            true
        default:
            false
        }
    }
}

/// An ASS file of a pool and what it could not place.
public struct ASSDocument: Sendable {
    /// The file.
    public var text: String
    /// Comments left out because every lane they could take was busy at their moment (the file
    /// says how many in a comment line of its header).
    public var omitted: Int
}

/// Writes a pool as ASS subtitles in lanes, as danmaku2ass does: scrolling and reverse comments
/// move across with `\move` in lanes where none catches another, top and bottom ones stay fixed
/// (`\an8`, `\an2` with `\pos`) in lanes where none covers another; a comment that fits no lane at
/// its moment is left out (counted), never drawn over another.
///
/// Times are in the centiseconds ASS writes, and positions in whole pixels, so that the rule
/// that keeps two comments of a lane apart is exact integer arithmetic (`ASSLanes`).
public enum ASSWriter {
    /// The file for `comments`, in offset order.
    public static func write(_ comments: [VideoComment], layout: ASSLayout, title: String) -> ASSDocument {
        var lanes = ASSLanes(layout: layout)
        var events: [String] = []
        var omitted = 0
        let scroll = Int64(clamping: layout.scrollSeconds) * 100
        let fixed = Int64(clamping: layout.fixedSeconds) * 100
        for comment in comments.sorted(by: { ($0.offsetMs, $0.seq) < ($1.offsetMs, $1.seq) }) {
            let size = comment.size ?? .normal
            let fontSize = layout.fontSize(of: size)
            let width = ASSLayout.estimatedWidth(of: comment.text, fontSize: fontSize)
            let span = (fontSize + 4 + layout.laneHeight - 1) / layout.laneHeight
            let start = max(0, comment.offsetMs) / 10
            var tags = ""
            let end: Int64
            switch comment.mode {
            case .scroll, .reverse:
                guard let lane = lanes.placeMoving(at: start, width: width, span: span, reverse: comment.mode == .reverse) else {
                    omitted += 1
                    continue
                }
                let top = lane * layout.laneHeight
                let (from, to) = comment.mode == .scroll ? (layout.width, -width) : (-width, layout.width)
                tags += "\\move(\(from),\(top),\(to),\(top))"
                end = start + scroll
            case .top, .bottom:
                guard let lane = lanes.placeFixed(at: start, span: span, fromBottom: comment.mode == .bottom) else {
                    omitted += 1
                    continue
                }
                let (alignment, y) = comment.mode == .top ? ("\\an8", lane * layout.laneHeight) : ("\\an2", (lane + span) * layout.laneHeight)
                tags += "\(alignment)\\pos(\(layout.width / 2),\(y))"
                end = start + fixed
            }
            if size != .normal { tags += "\\fs\(fontSize)" }
            let rgb = Int(comment.color.dropFirst(), radix: 16) ?? 0xFF_FFFF
            if rgb != 0xFF_FFFF { tags += "\\c&H\(hex(rgb & 0xFF))\(hex(rgb >> 8 & 0xFF))\(hex(rgb >> 16))&" }
            // A dark comment gets a light outline, as on the sites' players.
            let luma = (rgb >> 16) * 299 + (rgb >> 8 & 0xFF) * 587 + (rgb & 0xFF) * 114
            if luma < 48_000 { tags += "\\3c&HFFFFFF&" }
            let layer = comment.mode == .scroll || comment.mode == .reverse ? 0 : 1
            events.append("Dialogue: \(layer),\(time(start)),\(time(end)),Danmaku,,0,0,0,,{\(tags)}\(escape(comment.text))")
        }
        var text = """
            [Script Info]
            ; A video's danmaku, laid out in lanes (\(layout.width)x\(layout.height), \(layout.scrollSeconds) s to cross).
            ; Omitted: \(omitted) comments found no free lane.
            Title: \(escape(title))
            ScriptType: v4.00+
            PlayResX: \(layout.width)
            PlayResY: \(layout.height)
            Aspect Ratio: \(layout.width):\(layout.height)
            Collisions: Normal
            WrapStyle: 2
            ScaledBorderAndShadow: yes
            YCbCr Matrix: TV.601

            [V4+ Styles]
            Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, MarginV, Encoding
            Style: Danmaku,\(layout.fontName.filter { $0 != "," && !$0.isNewline }),\(layout.fontSize),&H00FFFFFF,&H00FFFFFF,&H00000000,&H00000000,0,0,0,0,100,100,0,0,1,2,0,7,0,0,0,1

            [Events]
            Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text

            """
        for event in events { text += event + "\n" }
        return ASSDocument(text: text, omitted: omitted)
    }

    /// `H:MM:SS.cc` of a time in centiseconds.
    static func time(_ centiseconds: Int64) -> String {
        let cs = max(0, centiseconds)
        let seconds = cs / 100
        func two(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(seconds / 3600):\(two(seconds / 60 % 60)):\(two(seconds % 60)).\(two(cs % 100))"
    }

    static func hex(_ byte: Int) -> String {
        let digits = String(byte, radix: 16, uppercase: true)
        return digits.count < 2 ? "0" + digits : digits
    }

    /// `text` as ASS shows it literally (danmaku2ass's rule): a backslash followed by a zero-width
    /// space, so it starts no `\N` or `\h`; braces as `\{` and `\}`, so they open no override
    /// block; a line break as `\N`.
    public static func escape(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\\": out += "\\\u{200B}"
            case "{": out += "\\{"
            case "}": out += "\\}"
            case "\n": out += "\\N"
            case _ where scalar.value < 0x20: continue
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}

/// The lanes of a screen and who holds each: the last scrolling and the last reverse comment
/// placed in it (start and width) and when its fixed comment goes.
///
/// Two comments moving the same way over the same `duration` D across width W never meet when
/// the later one, B, starts once A's tail is on screen, `(W + wA)(tB - tA) >= wA·D`, and cannot
/// catch A before A leaves, `(W + wB)(tA + D - tB) <= W·D`: the gap between them is linear in time
/// and not negative at either end. The last comment of a lane is enough to check, because every
/// earlier one was checked by it. Comments moving the opposite way share a lane only one after
/// the other has gone.
public struct ASSLanes: Sendable {
    struct Mover {
        var start: Int64
        var width: Int64
    }

    let width: Int64
    let duration: Int64
    let fixedDuration: Int64
    var scroll: [Mover?]
    var reverse: [Mover?]
    var fixedUntil: [Int64]

    /// Every lane free.
    public init(layout: ASSLayout) {
        width = Int64(clamping: layout.width)
        duration = Int64(clamping: layout.scrollSeconds) * 100
        fixedDuration = Int64(clamping: layout.fixedSeconds) * 100
        scroll = Array(repeating: nil, count: layout.lanes)
        reverse = Array(repeating: nil, count: layout.lanes)
        fixedUntil = Array(repeating: 0, count: layout.lanes)
    }

    /// Whether a comment of `width` starting at `start` (centiseconds) may follow `last` in a lane.
    static func mayFollow(_ last: Mover?, start: Int64, width: Int64, screen: Int64, duration: Int64) -> Bool {
        guard let last else { return true }
        // Past one crossing the lane is free whatever the widths. Bounded so that no product
        // below can overflow: screen and crossing under 2^20, widths under 2^20 screens (a
        // product stays under 2^61).
        let elapsed = start - last.start
        if elapsed >= duration { return true }
        if elapsed < 0 { return false }
        let (screen, duration) = (min(max(screen, 1), 1 << 20), min(max(duration, 1), 1 << 20))
        let (lastWidth, width) = (min(max(last.width, 0), screen << 20), min(max(width, 0), screen << 20))
        return (screen + lastWidth) * elapsed >= lastWidth * duration && (screen + width) * (duration - elapsed) <= screen * duration
    }

    /// The top lane of the first run of `span` lanes free for a moving comment, marked as taken;
    /// nil when there is none.
    public mutating func placeMoving(at start: Int64, width: Int, span: Int, reverse isReverse: Bool) -> Int? {
        let w = Int64(clamping: width)
        guard span <= scroll.count else { return nil }
        for top in 0...(scroll.count - span) {
            let free = (top..<(top + span)).allSatisfy { lane in
                let same = isReverse ? reverse[lane] : scroll[lane]
                let other = isReverse ? scroll[lane] : reverse[lane]
                return Self.mayFollow(same, start: start, width: w, screen: self.width, duration: duration)
                    && (other.map { start >= $0.start + duration } ?? true)
            }
            guard free else { continue }
            for lane in top..<(top + span) {
                if isReverse { reverse[lane] = Mover(start: start, width: w) } else { scroll[lane] = Mover(start: start, width: w) }
            }
            return top
        }
        return nil
    }

    /// The top lane of the first run of `span` lanes free for a fixed comment, counted from the
    /// top or from the bottom, marked as taken; nil when there is none.
    public mutating func placeFixed(at start: Int64, span: Int, fromBottom: Bool) -> Int? {
        guard span <= fixedUntil.count else { return nil }
        let tops = Array(0...(fixedUntil.count - span))
        for top in fromBottom ? Array(tops.reversed()) : tops where (top..<(top + span)).allSatisfy({ fixedUntil[$0] <= start }) {
            for lane in top..<(top + span) { fixedUntil[lane] = start + fixedDuration }
            return top
        }
        return nil
    }
}
