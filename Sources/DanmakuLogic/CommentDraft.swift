// Danmaku — a live-stream bullet-comment service.

import DanmakuCore
import Foundation

/// The fields a client sends to post a comment, before validation.
public struct CommentRequest: Codable, Sendable {
    /// The text; required.
    public var text: String
    /// `#rrggbb`; defaults to white.
    public var color: String?
    /// `scroll`, `top`, `bottom` or `reverse`; defaults to `scroll`.
    public var mode: String?
    /// `small`, `normal` or `large`; defaults to `normal`.
    public var size: String?
    /// A subtitle or special comment (privileged authors only); defaults to false.
    public var pool: Bool?

    public init(text: String, color: String? = nil, mode: String? = nil, size: String? = nil, pool: Bool? = nil) {
        self.text = text
        self.color = color
        self.mode = mode
        self.size = size
        self.pool = pool
    }

    /// Decodes a request body (`CommentRequestDecoder`), with field-level errors a client can act on.
    public static func decode(from body: [UInt8]) -> Result<CommentRequest, DanmakuError> {
        guard let _ = String(validating: body, as: UTF8.self) else {
            return .failure(.invalidJSON("body is not valid UTF-8"))
        }
        return CommentRequestDecoder.decode(body).mapError { failure in
            switch failure {
            case .notJSON: .invalidJSON("expected an object like {\"text\": \"...\"}")
            case .duplicate(let field): .invalidJSON("field '\(field)' is given twice")
            case .missing(let field): .invalidField(field, "field '\(field)' is required")
            case .wrongType(let field): .invalidField(field, "field '\(field)' has the wrong type")
            case .null(let field): .invalidField(field, "field '\(field)' must not be null")
            }
        }
    }
}

/// A request that passed validation: trimmed text, a known color and mode.
public struct CommentDraft: Sendable, Hashable {
    public var text: String
    public var color: String
    public var mode: CommentMode
    public var size: CommentSize = .normal
    public var pool = false

    /// Whether the comment is styled beyond the basics (white, scrolling, normal size), which a
    /// room may keep for its staff.
    public var isStyled: Bool { color != Self.defaultColor || mode != .scroll || size != .normal }

    /// The colour of a comment that names none.
    public static let defaultColor = "#ffffff"
}

/// Checks a request's fields against the contract.
public struct CommentValidator: Sendable {
    /// Most characters (grapheme clusters) allowed after trimming.
    public var maxTextLength: Int
    /// Bytes (UTF-8) a character may take on average: enough for emoji sequences (a family with
    /// skin tones is 41), never a file's worth of combining marks in one character.
    static let maxBytesPerCharacter = 48

    public init(maxTextLength: Int = 200) {
        self.maxTextLength = maxTextLength
    }

    /// The draft, or the first field error.
    public func validate(_ request: CommentRequest) -> Result<CommentDraft, DanmakuError> {
        let text = TextNormalizer.trimmingWhitespace(request.text)
        if text.isEmpty {
            return .failure(.invalidField("text", "text must not be empty"))
        }
        if text.unicodeScalars.contains(where: TextNormalizer.isControl) {
            return .failure(.invalidField("text", "text must not contain control characters"))
        }
        // In characters, and in bytes too: one character may carry any number of combining marks.
        if text.count > maxTextLength || text.utf8.count > maxTextLength * Self.maxBytesPerCharacter {
            return .failure(.textTooLong(max: maxTextLength))
        }
        let color = (request.color ?? CommentDraft.defaultColor).lowercased()
        guard Self.isHexColor(color) else {
            return .failure(.invalidField("color", "color must look like #rrggbb"))
        }
        guard let mode = CommentMode(rawValue: request.mode ?? "scroll") else {
            return .failure(.invalidField("mode", "mode must be one of scroll, top, bottom, reverse"))
        }
        guard let size = CommentSize(rawValue: request.size ?? "normal") else {
            return .failure(.invalidField("size", "size must be one of small, normal, large"))
        }
        return .success(CommentDraft(text: text, color: color, mode: mode, size: size, pool: request.pool ?? false))
    }

    static func isHexColor(_ color: String) -> Bool {
        let bytes = Array(color.utf8)
        return bytes.count == 7 && bytes[0] == UInt8(ascii: "#")
            && bytes[1...].allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0) }
    }
}
