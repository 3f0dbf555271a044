// Danmaku — a live-stream bullet-comment service.

import DanmakuCore
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

/// One `<d p="progress,mode,fontsize,color,ts,pool,userhash,id">text</d>` of a Bilibili file, as
/// read: the line it is on, and its fields in this project's terms.
public struct BilibiliDanmaku: Sendable, Equatable {
    /// The line of the file its `<d>` starts on.
    public var line: Int
    /// `progress`: when it shows, in milliseconds from the video's start (seconds in the file,
    /// kept to the millisecond).
    public var offsetMs: Int64
    /// `mode`: 1, 2 and 3 scroll, 4 bottom, 5 top, 6 reverse.
    public var mode: CommentMode
    /// `fontsize`: 18 small, 25 normal, 36 large; other sizes go to the nearest of them.
    public var size: CommentSize
    /// `color`, a decimal RGB number in the file, as `#rrggbb`.
    public var color: String
    /// `ts`: when it was posted, seconds since the Unix epoch.
    public var postedAt: Int64
    /// `pool`: 0 the normal pool, 1 subtitles, 2 special.
    public var pool: Int
    /// `userhash`: the site's hash of its author (the author's id is never in the file).
    public var userHash: String
    /// `id`: the site's id of the comment.
    public var id: String
    /// The text, unescaped.
    public var text: String

    /// The fields as given.
    public init(
        line: Int = 0, offsetMs: Int64, mode: CommentMode, size: CommentSize, color: String, postedAt: Int64, pool: Int, userHash: String,
        id: String, text: String
    ) {
        self.line = line
        self.offsetMs = offsetMs
        self.mode = mode
        self.size = size
        self.color = color
        self.postedAt = postedAt
        self.pool = pool
        self.userHash = userHash
        self.id = id
        self.text = text
    }

    /// What an imported author's id starts with: `imported:` and the file's `userhash`. No user
    /// id is invented, and an imported comment is never taken for a local user's.
    public static let importedUserPrefix = "imported:"
    /// What a comment id read from a Bilibili file's numeric `id` starts with (`bili-` and the
    /// number), so that it cannot meet a local comment's id; an export writes the number again.
    public static let importedIDPrefix = "bili-"

    /// The comment as a video's pool keeps it: author `imported:USERHASH` with an empty name and
    /// no role; a numeric file id as `bili-ID`, any other (a file this project exported) as it is;
    /// `pool` 1 or 2 as a subtitle or special comment.
    public func videoComment(video: String) -> VideoComment {
        VideoComment(
            seq: 0, id: id.utf8.allSatisfy(Self.isDigit) ? Self.importedIDPrefix + id : id, video: video, offsetMs: offsetMs,
            user: CommentAuthor(id: Self.importedUserPrefix + userHash, name: ""), text: text, color: color, mode: mode,
            ts: postedAt &* 1000, size: size, pool: pool != 0)
    }

    /// `comment` as a Bilibili file writes it. An author imported from such a file gets its
    /// `userhash` back; any other gets the CRC-32 of its id in hex, as the site hashes its users'
    /// ids, so that no user id is written out.
    public init(_ comment: VideoComment) {
        let user = comment.user.id
        let hash = user.hasPrefix(Self.importedUserPrefix)
            ? String(user.dropFirst(Self.importedUserPrefix.count)) : String(CRC32.checksum(Array(user.utf8)), radix: 16)
        let number = comment.id.dropFirst(Self.importedIDPrefix.count)
        let id = comment.id.hasPrefix(Self.importedIDPrefix) && !number.isEmpty && number.utf8.allSatisfy(Self.isDigit) ? String(number) : comment.id
        self.init(
            offsetMs: max(0, comment.offsetMs), mode: comment.mode, size: comment.size ?? .normal, color: comment.color,
            postedAt: max(0, comment.ts) / 1000, pool: comment.pool == true ? 1 : 0, userHash: hash, id: id, text: comment.text)
    }

    static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
}

/// Reads Bilibili danmaku files, all or nothing: a file with any malformed `<d>` is refused with
/// the line and the reason. Bounded by its size and its number of comments; a document type
/// declaration (and so any entity of one) is refused before parsing, so no entity expands.
public struct BilibiliXMLReader: Sendable {
    /// The largest file read, in bytes.
    public var maxBytes: Int
    /// The most comments a file may hold.
    public var maxComments: Int

    /// A reader with these bounds (those of an import by default).
    public init(maxBytes: Int = 16 << 20, maxComments: Int = 100_000) {
        self.maxBytes = maxBytes
        self.maxComments = maxComments
    }

    /// What a file held.
    public struct Contents: Sendable, Equatable {
        /// Its comments, in file order.
        public var danmaku: [BilibiliDanmaku]
        /// The comments left out, each with its line and why: modes 7, 8 and 9 (positioned,
        /// scripted and BAS comments need a script engine no player here has).
        public var skipped: [FileFormatError]
    }

    /// The file's comments, or where and why it cannot be read.
    public func read(_ bytes: [UInt8]) -> Result<Contents, FileFormatError> {
        guard bytes.count <= maxBytes else {
            return .failure(FileFormatError(line: 0, reason: "the file is \(bytes.count) bytes; at most \(maxBytes) are read", overBound: true))
        }
        // What libxml2 would take long over, or expand, is refused before it sees the file.
        if let refusal = XMLPrescreen.refusal(of: bytes) { return .failure(refusal) }
        let parser = XMLParser(data: Data(bytes))
        parser.shouldResolveExternalEntities = false
        let reading = BilibiliXMLReading(maxComments: maxComments)
        parser.delegate = reading
        let parsed = parser.parse()
        if let failure = reading.failure { return .failure(failure) }
        guard parsed else {
            let code = parser.parserError.map { ($0 as NSError).code } ?? 0
            let line = reading.errorLine ?? parser.lineNumber
            return .failure(FileFormatError(line: max(line, 1), reason: "the file is not well-formed XML (\(Self.describe(code)))"))
        }
        guard reading.sawRoot else { return .failure(FileFormatError(line: 1, reason: "no <i> element: not a Bilibili danmaku file")) }
        // libxml2 as Foundation drives it on Linux takes a document cut off inside its root.
        guard reading.closedRoot else {
            return .failure(FileFormatError(line: max(reading.lastLine, 1), reason: "the file ends before its </i>: it is cut off"))
        }
        return .success(Contents(danmaku: reading.danmaku, skipped: reading.skipped))
    }

    /// The line `needle` first occurs on (ASCII case ignored), or nil.
    static func line(of needle: [UInt8], in bytes: [UInt8]) -> Int? {
        guard bytes.count >= needle.count, let first = needle.first else { return nil }
        var line = 1
        for start in 0...(bytes.count - needle.count) {
            let byte = bytes[start]
            if byte == UInt8(ascii: "\n") { line += 1 }
            guard byte == first else { continue }
            if zip(needle, bytes[start...]).allSatisfy({ $0 | 0x20 == $1 | 0x20 }) { return line }
        }
        return nil
    }

    /// libxml2's error codes (XMLParser's) that a hand-made or cut-off file meets most.
    static func describe(_ code: Int) -> String {
        switch code {
        case 4: "no document, or it is empty"
        case 5: "the file ends before the document does"
        case 9: "a character XML does not allow"
        case 23: "'>' was expected"
        case 26: "an undeclared entity; escape '&' as &amp;"
        case 38, 39, 40, 41: "an attribute value is malformed (quote it, and escape '<' and '&')"
        case 68: "a name was expected after '<'; escape '<' as &lt;"
        case 73, 76: "an end tag does not match its start tag"
        case 77: "the file ends before an element does"
        case 85: "an end tag does not match its start tag"
        case 5001: "more than one root element"
        default: "libxml2 error \(code)"
        }
    }
}

/// The parser's delegate: collects `<d>` elements under the `<i>` root and stops at the first
/// problem, keeping its line.
private final class BilibiliXMLReading: NSObject, XMLParserDelegate {
    let maxComments: Int
    var danmaku: [BilibiliDanmaku] = []
    var skipped: [FileFormatError] = []
    var failure: FileFormatError?
    var sawRoot = false
    /// Whether the root's end tag was read.
    var closedRoot = false
    /// The line the parser reported its error on.
    var errorLine: Int?
    /// The last line an element started or ended on.
    var lastLine = 0
    /// Elements open now, the root's name first.
    private var open: [String] = []
    /// The `<d>` being read: its line and its `p`.
    private var current: (line: Int, p: String)?
    private var text = ""

    init(maxComments: Int) {
        self.maxComments = maxComments
    }

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
        let line = parser.lineNumber
        lastLine = line
        defer { open.append(name) }
        if open.isEmpty {
            guard name == "i" else { return fail(parser, line, "the root element is <\(name)>, not <i>: not a Bilibili danmaku file") }
            sawRoot = true
            return
        }
        if current != nil { return fail(parser, line, "an element <\(name)> inside a comment's <d>") }
        guard open.count == 1, name == "d" else { return }
        guard let p = attributes["p"] else { return fail(parser, line, "a <d> without its p attribute") }
        guard danmaku.count + skipped.count < maxComments else {
            return fail(parser, line, "more than \(maxComments) comments; at most \(maxComments) are read from one file", overBound: true)
        }
        current = (line, p)
        text = ""
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        if current != nil { text += string }
    }

    func parser(_ parser: XMLParser, foundCDATA block: Data) {
        if current != nil { text += String(decoding: block, as: UTF8.self) }
    }

    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        _ = open.popLast()
        lastLine = parser.lineNumber
        if open.isEmpty { closedRoot = true }
        guard name == "d", open.count == 1, let (line, p) = current else { return }
        current = nil
        switch Self.fields(p, text: text, line: line) {
        case .success(let entry?): danmaku.append(entry)
        case .success(nil): skipped.append(FileFormatError(line: line, reason: "mode \(p.split(separator: ",").dropFirst().first ?? "") (positioned, scripted or BAS) is not shown by this service"))
        case .failure(let error): fail(parser, error.line, error.reason)
        }
    }

    func parser(_ parser: XMLParser, parseErrorOccurred parseError: any Error) {
        if errorLine == nil { errorLine = parser.lineNumber }
    }

    private func fail(_ parser: XMLParser, _ line: Int, _ reason: String, overBound: Bool = false) {
        guard failure == nil else { return }
        failure = FileFormatError(line: line, reason: reason, overBound: overBound)
        parser.abortParsing()
    }

    /// The fields of `p`: nil for a comment of a mode left out.
    static func fields(_ p: String, text: String, line: Int) -> Result<BilibiliDanmaku?, FileFormatError> {
        let parts = p.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        func refuse(_ reason: String) -> Result<BilibiliDanmaku?, FileFormatError> { .failure(FileFormatError(line: line, reason: reason)) }
        // A ninth field (a weight, in newer files) and later ones are not ours to keep.
        guard parts.count >= 8 else { return refuse("p has \(parts.count) fields; it needs 8: progress,mode,fontsize,color,ts,pool,userhash,id") }
        guard let offset = milliseconds(parts[0]) else { return refuse("progress '\(parts[0])' is not a number of seconds from 0 to a century") }
        let mode: CommentMode
        switch parts[1] {
        case "1", "2", "3": mode = .scroll
        case "4": mode = .bottom
        case "5": mode = .top
        case "6": mode = .reverse
        case "7", "8", "9": return .success(nil)
        default: return refuse("mode '\(parts[1])' is not one of 1-9")
        }
        guard let fontSize = number(parts[2], digits: 3), fontSize > 0 else { return refuse("fontsize '\(parts[2])' is not a size in pixels") }
        let size: CommentSize = fontSize <= 21 ? .small : fontSize >= 31 ? .large : .normal
        guard let rgb = number(parts[3], digits: 8), rgb <= 0xFF_FFFF else { return refuse("color '\(parts[3])' is not a decimal RGB number (0-16777215)") }
        guard let posted = number(parts[4], digits: 12) else { return refuse("ts '\(parts[4])' is not a Unix time in seconds") }
        guard let pool = number(parts[5], digits: 1), pool <= 2 else { return refuse("pool '\(parts[5])' is not 0, 1 or 2") }
        let hash = parts[6]
        guard (1...32).contains(hash.utf8.count), hash.utf8.allSatisfy({ BilibiliDanmaku.isDigit($0) || ($0 | 0x20 >= 97 && $0 | 0x20 <= 122) }) else {
            return refuse("userhash '\(hash)' is not 1-32 letters and digits")
        }
        let id = parts[7]
        // Kept as `bili-ID` when numeric: the pool's limit on an id's length holds for both.
        guard id.utf8.count <= 59, EncodedComment.isPlausibleID(id) else { return refuse("id '\(id)' is not 1-59 letters, digits and '-'") }
        let hex = String(rgb, radix: 16)
        let color = "#" + String(repeating: "0", count: 6 - hex.count) + hex
        return .success(BilibiliDanmaku(
            line: line, offsetMs: offset, mode: mode, size: size, color: color, postedAt: posted, pool: Int(truncatingIfNeeded: pool), userHash: hash, id: id,
            text: text))
    }

    /// A whole number of at most `digits` decimal digits.
    static func number(_ text: String, digits: Int) -> Int64? {
        guard (1...digits).contains(text.utf8.count), text.utf8.allSatisfy(BilibiliDanmaku.isDigit) else { return nil }
        guard let value = Int64(text) else { return nil }
        return value
    }

    /// Seconds as written in a file (`12`, `12.5`, `12.34567`) in milliseconds, rounded to the
    /// nearest; nil unless a plain non-negative decimal no later than a century.
    static func milliseconds(_ text: String) -> Int64? {
        let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        let whole = parts[0]
        let fraction = parts.count > 1 ? parts[1] : ""
        guard !(whole.isEmpty && fraction.isEmpty), whole.utf8.count <= 12, fraction.utf8.count <= 12,
              whole.utf8.allSatisfy(BilibiliDanmaku.isDigit), fraction.utf8.allSatisfy(BilibiliDanmaku.isDigit) else { return nil }
        let digits = Array(fraction.utf8).map { Int64(truncatingIfNeeded: $0 &- UInt8(ascii: "0")) } + [0, 0, 0, 0]
        let seconds: Int64
        if whole.isEmpty {
            seconds = 0
        } else if let value = Int64(whole) {
            seconds = value
        } else {
            return nil
        }
        var ms = seconds * 1000 + digits[0] * 100 + digits[1] * 10 + digits[2]
        if digits[3] >= 5 { ms += 1 }
        return ms <= Int64(clamping: ClientNumber.maxOffsetMilliseconds) ? ms : nil
    }
}

/// Writes a pool as a Bilibili danmaku file, in the order given.
public enum BilibiliXMLWriter {
    /// The file: the usual header elements, then one `<d>` per comment (`BilibiliDanmaku.init(_:)`),
    /// progress to the millisecond. Text is escaped for XML; characters XML 1.0 cannot hold at all
    /// (C0 controls other than tab and line breaks) are left out.
    public static func write(_ comments: [VideoComment]) -> String {
        var out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<i>\n"
        out += "  <chatserver>chat.bilibili.com</chatserver>\n  <chatid>0</chatid>\n  <mission>0</mission>\n"
        out += "  <maxlimit>\(comments.count)</maxlimit>\n  <state>0</state>\n  <real_name>0</real_name>\n  <source>k-v</source>\n"
        for comment in comments {
            let entry = BilibiliDanmaku(comment)
            let mode = switch entry.mode {
            case .scroll: 1
            case .bottom: 4
            case .top: 5
            case .reverse: 6
            }
            let fontSize = switch entry.size {
            case .small: 18
            case .normal: 25
            case .large: 36
            }
            let rgb = Int(entry.color.dropFirst(), radix: 16) ?? 0xFF_FFFF
            let progress = "\(entry.offsetMs / 1000)." + String(String(1000 + entry.offsetMs % 1000).dropFirst())
            let p = "\(progress),\(mode),\(fontSize),\(rgb),\(entry.postedAt),\(entry.pool),\(entry.userHash),\(entry.id)"
            out += "  <d p=\"\(escape(p))\">\(escape(entry.text))</d>\n"
        }
        out += "</i>\n"
        return out
    }

    /// `text` with `&`, `<`, `>`, `"` and `'` escaped, line breaks and tabs as character
    /// references (kept by a reader), other C0 controls and U+FFFE/U+FFFF left out.
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\n": out += "&#10;"
            case "\r": out += "&#13;"
            case "\t": out += "&#9;"
            case _ where scalar.value < 0x20 || scalar.value == 0xFFFE || scalar.value == 0xFFFF: continue
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}

/// CRC-32 (IEEE 802.3), as Bilibili hashes its users' ids into `userhash`.
enum CRC32 {
    static func checksum(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(truncatingIfNeeded: byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }
}
