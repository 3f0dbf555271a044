import DanmakuCore
import DanmakuFormats
import Foundation
import Testing

/// ASS subtitles in lanes: no two comments of a lane ever cover each other, for the resolution
/// and duration given, and a real player (libass, through ffmpeg) reads every event written.
@Suite struct ASSWriterTests {
    /// A deterministic generator, so that a failure can be replayed.
    struct Seeded: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state ^ (state >> 29)
        }
    }

    static func pool(count: Int, seconds: Int64, seed: UInt64) -> [VideoComment] {
        var random = Seeded(state: seed)
        let words = ["666", "前方高能", "hello there", "草", "awesome!!", "这个太好笑了哈哈哈哈", "w", "コメント", "a {brace} and \\N", "🎉🎉"]
        let modes: [CommentMode] = [.scroll, .scroll, .scroll, .scroll, .reverse, .top, .bottom]
        let colors = ["#ffffff", "#ff0000", "#000000", "#00ff00", "#fe0302"]
        return (0..<count).map { index in
            let text = (0..<Int.random(in: 1...3, using: &random)).map { _ in words.randomElement(using: &random) ?? "" }.joined(separator: " ")
            return VideoComment(
                seq: UInt64(index + 1), id: "c\(index)", video: "film", offsetMs: Int64.random(in: 0..<(seconds * 1000), using: &random),
                user: CommentAuthor(id: "u", name: ""), text: text, color: colors.randomElement(using: &random) ?? "#ffffff",
                mode: modes.randomElement(using: &random) ?? .scroll, ts: 0, size: [CommentSize.small, .normal, .normal, .large].randomElement(using: &random))
        }
    }

    /// One `Dialogue:` line, read back.
    struct Event {
        var start: Int64
        var end: Int64
        enum Motion { case scroll(width: Int64), reverse(width: Int64), top, bottom }
        var motion: Motion
        /// The rows it covers, `[top, bottom)`.
        var rows: Range<Int>
    }

    static func events(_ text: String, layout: ASSLayout) throws -> [Event] {
        try text.split(separator: "\n").filter { $0.hasPrefix("Dialogue: ") }.map { line in
            let fields = line.dropFirst("Dialogue: ".count).split(separator: ",", maxSplits: 9, omittingEmptySubsequences: false)
            let start = try #require(centiseconds(fields[1]))
            let end = try #require(centiseconds(fields[2]))
            let tags = String(fields[9].prefix { $0 != "}" })
            let font = number(after: "\\fs", in: tags).first ?? layout.fontSize
            let height = (font + 4 + layout.laneHeight - 1) / layout.laneHeight * layout.laneHeight
            let move = number(after: "\\move(", in: tags)
            if move.count == 4 {
                let (x1, y, x2) = (Int64(move[0]), move[1], Int64(move[2]))
                #expect(move[1] == move[3], "moves horizontally")
                let motion: Event.Motion = x1 > x2 ? .scroll(width: -x2) : .reverse(width: -x1)
                return Event(start: start, end: end, motion: motion, rows: y..<(y + height))
            }
            let position = number(after: "\\pos(", in: tags)
            let y = try #require(position.last)
            if tags.contains("\\an8") { return Event(start: start, end: end, motion: .top, rows: y..<(y + height)) }
            #expect(tags.contains("\\an2"))
            return Event(start: start, end: end, motion: .bottom, rows: (y - height)..<y)
        }
    }

    static func centiseconds(_ time: Substring) -> Int64? {
        let parts = time.split(whereSeparator: { $0 == ":" || $0 == "." }).compactMap { Int64($0) }
        guard parts.count == 4 else { return nil }
        return ((parts[0] * 60 + parts[1]) * 60 + parts[2]) * 100 + parts[3]
    }

    /// The comma-separated integers after `prefix` in `tags`.
    static func number(after prefix: String, in tags: String) -> [Int] {
        guard let range = tags.range(of: prefix) else { return [] }
        return tags[range.upperBound...].prefix { $0 == "-" || $0 == "," || $0.isNumber }.split(separator: ",").compactMap { Int($0) }
    }

    /// Whether two comments moving the same way ever cover each other: the gap between the later
    /// one's head and the earlier one's tail, checked every 10 cs of their time together and at
    /// its ends (scaled by the duration, so the arithmetic is exact).
    static func meet(_ a: (start: Int64, width: Int64), _ b: (start: Int64, width: Int64), screen: Int64, duration: Int64) -> Bool {
        let (first, second) = a.start <= b.start ? (a, b) : (b, a)
        let end = first.start + duration
        guard second.start < end else { return false }
        var times = Array(stride(from: second.start, to: end, by: 10))
        times.append(end)
        // x(t)·D = W·D − (W + w)(t − start): the later's head must stay right of the earlier's tail.
        return times.contains { t in
            let tail = screen * duration - (screen + first.width) * (t - first.start) + first.width * duration
            let head = screen * duration - (screen + second.width) * (t - second.start)
            return head < tail
        }
    }

    @Test(arguments: [(1920, 1080, 8), (1280, 720, 5), (640, 360, 12)])
    func noTwoCommentsOfALaneEverCoverEachOther(width: Int, height: Int, duration: Int) throws {
        let layout = ASSLayout(width: width, height: height, scrollSeconds: duration)
        let comments = Self.pool(count: 1500, seconds: 120, seed: UInt64(width))
        let document = ASSWriter.write(comments, layout: layout, title: "film")
        let events = try Self.events(document.text, layout: layout)
        #expect(events.count + document.omitted == comments.count)
        #expect(document.omitted > 0, "dense enough that some find no lane")
        #expect(events.count > comments.count / 3)
        #expect(document.text.contains("; Omitted: \(document.omitted) comments found no free lane."))
        let span = Int64(duration) * 100
        for (index, a) in events.enumerated() {
            #expect(a.rows.lowerBound >= 0 && a.rows.upperBound <= height, "inside the screen")
            for b in events[(index + 1)...] where a.rows.overlaps(b.rows) {
                let together = max(a.start, b.start) < min(a.end, b.end)
                switch (a.motion, b.motion) {
                case (.scroll(let wa), .scroll(let wb)), (.reverse(let wa), .reverse(let wb)):
                    #expect(!Self.meet((a.start, wa), (b.start, wb), screen: Int64(width), duration: span), "\(a) and \(b) meet")
                case (.scroll, .reverse), (.reverse, .scroll), (.top, .top), (.bottom, .bottom), (.top, .bottom), (.bottom, .top):
                    #expect(!together, "\(a) and \(b) share rows at once")
                default:
                    // A fixed comment may stand over a moving one (a layer above), as on the sites.
                    break
                }
            }
        }
    }

    /// A comment drawn wider than any screen, then one an hour of centiseconds later: the lane
    /// arithmetic stays in range (it once overflowed and trapped on an export).
    @Test func extremeWidthsAndOffsetsDoNotOverflow() {
        let wide = VideoComment(
            seq: 1, id: "w", video: "v", offsetMs: 0, user: CommentAuthor(id: "u", name: ""), text: "a" + String(repeating: "\u{301}", count: 120_000),
            color: "#ffffff", mode: .scroll, ts: 0, size: .large)
        let late = VideoComment(
            seq: 2, id: "l", video: "v", offsetMs: 3_000_000_000_000, user: CommentAuthor(id: "u", name: ""), text: "b",
            color: "#ffffff", mode: .scroll, ts: 0)
        let document = ASSWriter.write([wide, late], layout: ASSLayout(width: 7680, height: 7680), title: "v")
        #expect(document.text.contains("Dialogue:"))
    }

    @Test func aSparsePoolLeavesNothingOut() throws {
        let comments = (0..<50).map { (index: Int) -> VideoComment in
            let mode: CommentMode = index % 5 == 0 ? .top : .scroll
            let offset = Int64(index) * 3000
            return VideoComment(seq: UInt64(index + 1), id: "c\(index)", video: "v", offsetMs: offset, user: CommentAuthor(id: "u", name: ""),
                                text: "comment \(index)", color: "#ffffff", mode: mode, ts: 0)
        }
        let document = ASSWriter.write(comments, layout: ASSLayout(), title: "v")
        #expect(document.omitted == 0)
        #expect(try Self.events(document.text, layout: ASSLayout()).count == 50)
    }

    @Test func writesTheFieldsAPlayerReads() {
        let comments = [
            VideoComment(seq: 1, id: "a", video: "v", offsetMs: 61_234, user: CommentAuthor(id: "u", name: ""), text: #"{\b1}bold? no \N"#,
                         color: "#ff8000", mode: .scroll, ts: 0, size: .large),
            VideoComment(seq: 2, id: "b", video: "v", offsetMs: 3_723_450, user: CommentAuthor(id: "u", name: ""), text: "底部",
                         color: "#000000", mode: .bottom, ts: 0),
        ]
        let text = ASSWriter.write(comments, layout: ASSLayout(width: 1920, height: 1080, scrollSeconds: 8), title: "v").text
        #expect(text.contains("PlayResX: 1920\nPlayResY: 1080\n"))
        #expect(text.contains("Style: Danmaku,sans-serif,48,"))
        #expect(text.contains("Dialogue: 0,0:01:01.23,0:01:09.23,Danmaku,,0,0,0,,{\\move(1920,0,-"))
        #expect(text.contains("\\fs69\\c&H0080FF&}\\{\\\u{200B}b1\\}bold? no \\\u{200B}N\n"), "colour as BGR; braces and backslashes shown, not obeyed")
        #expect(text.contains("Dialogue: 1,1:02:03.45,1:02:08.45,Danmaku,,0,0,0,,{\\an2\\pos(960,"))
        #expect(text.contains("\\c&H000000&\\3c&HFFFFFF&}底部"), "a dark comment gets a light outline")
    }

    /// A real player parses the file: ffmpeg (Debian's, with libass) burns an exported pool into a
    /// blank video, and libass reports every event written.
    @Test func ffmpegRendersAnExportedFile() throws {
        let ffmpeg = try #require(["/usr/bin/ffmpeg", "/usr/local/bin/ffmpeg"].first { FileManager.default.isExecutableFile(atPath: $0) },
                                  "ffmpeg is needed (apt-get install ffmpeg)")
        let layout = ASSLayout(width: 640, height: 360, scrollSeconds: 4)
        var comments = Self.pool(count: 80, seconds: 3, seed: 7)
        comments.append(VideoComment(seq: 99, id: "x", video: "v", offsetMs: 100, user: CommentAuthor(id: "u", name: ""),
                                     text: #"back\slash {brace} 弹幕 & <xml>"#, color: "#ff0000", mode: .top, ts: 0))
        let document = ASSWriter.write(comments, layout: layout, title: "film")
        let written = document.text.split(separator: "\n").filter { $0.hasPrefix("Dialogue: ") }.count
        #expect(written > 20)
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("danmaku-\(UUID().uuidString).ass")
        try document.text.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ffmpeg)
        process.arguments = ["-hide_banner", "-nostdin", "-v", "verbose", "-f", "lavfi", "-i", "color=c=black:s=640x360:d=3",
                             "-vf", "ass=\(file.path)", "-f", "null", "-"]
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let log = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(log.suffix(2000))")
        #expect(log.contains(", \(written) events)"), "libass read every event: \(log.split(separator: "\n").filter { $0.contains("Added subtitle file") })")
    }
}
