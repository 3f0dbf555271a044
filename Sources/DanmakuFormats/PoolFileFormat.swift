// Danmaku — a live-stream bullet-comment service.

/// The files a video's pool moves in between sites and players.
public enum PoolFileFormat: String, Sendable, CaseIterable {
    /// Bilibili's `<i><d p="…">text</d>…</i>`: what sites, archivists and players exchange.
    case bilibiliXML = "bilibili-xml"
    /// Advanced SubStation Alpha subtitles laid out in lanes, for players without a danmaku
    /// engine (mpv, VLC, ffmpeg burn-in).
    case ass
    /// The pool's comments as segments serve them, one JSON array.
    case json

    /// The `Content-Type` of a file of this format.
    public var contentType: String {
        switch self {
        case .bilibiliXML: "application/xml; charset=utf-8"
        case .ass: "text/x-ssa; charset=utf-8"
        case .json: "application/json; charset=utf-8"
        }
    }

    /// The usual file name extension.
    public var fileExtension: String {
        switch self {
        case .bilibiliXML: "xml"
        case .ass: "ass"
        case .json: "json"
        }
    }

    /// The formats a pool can be imported from.
    public var isImportable: Bool { self == .bilibiliXML }
}

/// A file that cannot be read: where, and why. Nothing of such a file is imported.
public struct FileFormatError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The 1-based line of the file the problem is on (0 when it is the file as a whole).
    public var line: Int
    /// What is wrong, for a person to fix.
    public var reason: String
    /// Whether the file is over a bound (its bytes, its comments) rather than malformed.
    public var overBound: Bool

    /// A problem on `line` (0: the file as a whole).
    public init(line: Int, reason: String, overBound: Bool = false) {
        self.line = line
        self.reason = reason
        self.overBound = overBound
    }

    public var description: String { line > 0 ? "line \(line): \(reason)" : reason }
}
