// Danmaku — a live-stream bullet-comment service.

import DanmakuCore

/// Reads a comment post's body (`{"text":…,"color":…,"mode":…,"size":…,"pool":…}`) straight from
/// its bytes, in one pass and without building a JSON tree: every post goes through it, and
/// Foundation's generic `JSONDecoder` cost more than the rest of a post's checks together.
///
/// It holds the body to strict JSON (RFC 8259) and to the same answers `JSONDecoder` gave:
/// - a body that is not a JSON object, or not JSON at all: `invalid_json`;
/// - `text` missing, `null`, or not a string: `invalid_field` naming it; the other four fields
///   may be absent or `null`, and must otherwise be strings (`pool` a boolean);
/// - other keys are skipped, whatever their value, down to `maxDepth` levels of nesting (deeper
///   is refused, so no body can recurse without bound);
/// - a field given twice is refused (`invalid_json`), rather than read as the first or the last
///   one, which is what a proxy that checks bodies and this server could disagree on.
///
/// Strings are read with every JSON escape (`\uXXXX` with surrogate pairs); an unescaped
/// control character, a lone surrogate or a bad escape is not JSON. The body's UTF-8 is
/// checked before (`CommentRequest.decode`).
struct CommentRequestDecoder {
    /// Most levels of arrays and objects in a skipped value.
    static let maxDepth = 32

    private let bytes: [UInt8]
    private var index = 0

    /// Why a body is refused: not JSON, or a known field of the wrong type (or `null`).
    enum Failure: Error, Equatable {
        case notJSON
        case duplicate(String)
        case wrongType(String)
        case null(String)
        case missing(String)
    }

    private init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    /// The request in `body`, or why it is refused.
    static func decode(_ body: [UInt8]) -> Result<CommentRequest, Failure> {
        var decoder = CommentRequestDecoder(body)
        do {
            return .success(try decoder.object())
        } catch let failure as Failure {
            return .failure(failure)
        } catch {
            return .failure(.notJSON)
        }
    }

    private enum Field: String, CaseIterable {
        case text, color, mode, size, pool

        /// Its bit in a set of fields seen.
        var bit: UInt8 { 1 << UInt8(truncatingIfNeeded: Self.allCases.firstIndex(of: self)!) }
    }

    private mutating func object() throws -> CommentRequest {
        skipWhitespace()
        guard peek() == UInt8(ascii: "{") else { throw Failure.notJSON }
        var text: String?
        var color: String?
        var mode: String?
        var size: String?
        var pool: Bool?
        var seen: UInt8 = 0
        try items(closing: UInt8(ascii: "}"), keyed: true) { decoder, key in
            guard let key, let field = Field(rawValue: key) else { return try decoder.skipValue(depth: 1) }
            guard seen & field.bit == 0 else { throw Failure.duplicate(key) }
            seen |= field.bit
            switch field {
            case .text:
                guard let value = try decoder.optionalString(field) else { throw Failure.null(key) }
                text = value
            case .color: color = try decoder.optionalString(field)
            case .mode: mode = try decoder.optionalString(field)
            case .size: size = try decoder.optionalString(field)
            case .pool: pool = try decoder.optionalBool(field)
            }
        }
        skipWhitespace()
        guard index == bytes.count else { throw Failure.notJSON }
        guard let text else { throw Failure.missing(Field.text.rawValue) }
        return CommentRequest(text: text, color: color, mode: mode, size: size, pool: pool)
    }

    // MARK: Values of known fields

    /// A string, or nil for `null`; any other value is the wrong type (a malformed one is not JSON).
    private mutating func optionalString(_ field: Field) throws -> String? {
        switch peek() {
        case UInt8(ascii: "\""): return try string()
        case UInt8(ascii: "n"):
            try literal("null")
            return nil
        default:
            try skipValue(depth: 1)
            throw Failure.wrongType(field.rawValue)
        }
    }

    /// `true` or `false`, or nil for `null`.
    private mutating func optionalBool(_ field: Field) throws -> Bool? {
        switch peek() {
        case UInt8(ascii: "t"):
            try literal("true")
            return true
        case UInt8(ascii: "f"):
            try literal("false")
            return false
        case UInt8(ascii: "n"):
            try literal("null")
            return nil
        default:
            try skipValue(depth: 1)
            throw Failure.wrongType(field.rawValue)
        }
    }

    // MARK: JSON grammar

    /// Skips one value of any type, checking its grammar.
    private mutating func skipValue(depth: Int) throws {
        guard depth <= Self.maxDepth else { throw Failure.notJSON }
        switch peek() {
        case UInt8(ascii: "\""): _ = try string()
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        case UInt8(ascii: "n"): try literal("null")
        case UInt8(ascii: "{"): try items(closing: UInt8(ascii: "}"), keyed: true) { decoder, _ in try decoder.skipValue(depth: depth + 1) }
        case UInt8(ascii: "["): try items(closing: UInt8(ascii: "]"), keyed: false) { decoder, _ in try decoder.skipValue(depth: depth + 1) }
        default: try number()
        }
    }

    /// The members of an object (`keyed`: each a key, a colon and a value) or the elements of an
    /// array whose opening bracket is at `index`, up to the `closing` one: `item` reads each value
    /// (given its key), and the brackets, separators and whitespace around them are checked here.
    private mutating func items(closing: UInt8, keyed: Bool, _ item: (inout Self, String?) throws -> Void) throws {
        index += 1
        skipWhitespace()
        if peek() == closing {
            index += 1
            return
        }
        while true {
            skipWhitespace()
            var key: String?
            if keyed {
                key = try string()
                skipWhitespace()
                try expect(UInt8(ascii: ":"))
                skipWhitespace()
            }
            try item(&self, key)
            skipWhitespace()
            guard let separator = next() else { throw Failure.notJSON }
            if separator == closing { return }
            guard separator == UInt8(ascii: ",") else { throw Failure.notJSON }
        }
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`
    private mutating func number() throws {
        if peek() == UInt8(ascii: "-") { index += 1 }
        guard let first = peek(), isDigit(first) else { throw Failure.notJSON }
        index += 1
        if first != UInt8(ascii: "0") { skipDigits() }
        if peek() == UInt8(ascii: ".") {
            index += 1
            guard let digit = peek(), isDigit(digit) else { throw Failure.notJSON }
            skipDigits()
        }
        if peek() == UInt8(ascii: "e") || peek() == UInt8(ascii: "E") {
            index += 1
            if peek() == UInt8(ascii: "+") || peek() == UInt8(ascii: "-") { index += 1 }
            guard let digit = peek(), isDigit(digit) else { throw Failure.notJSON }
            skipDigits()
        }
    }

    /// A string at `index` (its opening quote), unescaped.
    private mutating func string() throws -> String {
        try expect(UInt8(ascii: "\""))
        let start = index
        // The common case, no escape: the bytes as they are (already checked UTF-8).
        while let byte = peek(), byte != UInt8(ascii: "\""), byte != UInt8(ascii: "\\") {
            guard byte >= 0x20 else { throw Failure.notJSON }
            index += 1
        }
        guard let stop = peek() else { throw Failure.notJSON }
        if stop == UInt8(ascii: "\"") {
            index += 1
            return String(decoding: bytes[start..<index - 1], as: UTF8.self)
        }
        var unescaped = Array(bytes[start..<index])
        while let byte = next() {
            switch byte {
            case UInt8(ascii: "\""):
                return String(decoding: unescaped, as: UTF8.self)
            case UInt8(ascii: "\\"):
                try escape(into: &unescaped)
            case 0..<0x20:
                throw Failure.notJSON
            default:
                unescaped.append(byte)
            }
        }
        throw Failure.notJSON
    }

    /// The escape after a backslash, appended to `output` as UTF-8.
    private mutating func escape(into output: inout [UInt8]) throws {
        guard let kind = next() else { throw Failure.notJSON }
        switch kind {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): output.append(kind)
        case UInt8(ascii: "b"): output.append(0x08)
        case UInt8(ascii: "f"): output.append(0x0C)
        case UInt8(ascii: "n"): output.append(0x0A)
        case UInt8(ascii: "r"): output.append(0x0D)
        case UInt8(ascii: "t"): output.append(0x09)
        case UInt8(ascii: "u"):
            var scalar = try hex4()
            if (0xD800...0xDBFF).contains(scalar) {
                // A high surrogate must be followed by an escaped low one.
                guard next() == UInt8(ascii: "\\"), next() == UInt8(ascii: "u") else { throw Failure.notJSON }
                let low = try hex4()
                guard (0xDC00...0xDFFF).contains(low) else { throw Failure.notJSON }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            }
            guard let unicode = Unicode.Scalar(scalar) else { throw Failure.notJSON }  // a lone low surrogate
            output.append(contentsOf: String(Character(unicode)).utf8)
        default:
            throw Failure.notJSON
        }
    }

    /// Four hex digits.
    private mutating func hex4() throws -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard let byte = next() else { throw Failure.notJSON }
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw Failure.notJSON
            }
            value = value << 4 | UInt32(truncatingIfNeeded: digit)
        }
        return value
    }

    // MARK: Bytes

    private func peek() -> UInt8? {
        index < bytes.count ? bytes[index] : nil
    }

    private mutating func next() -> UInt8? {
        guard index < bytes.count else { return nil }
        defer { index += 1 }
        return bytes[index]
    }

    private mutating func expect(_ byte: UInt8) throws {
        guard next() == byte else { throw Failure.notJSON }
    }

    private mutating func literal(_ word: String) throws {
        for expected in word.utf8 {
            guard next() == expected else { throw Failure.notJSON }
        }
    }

    private mutating func skipWhitespace() {
        while let byte = peek(), byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 { index += 1 }
    }

    private mutating func skipDigits() {
        while let byte = peek(), isDigit(byte) { index += 1 }
    }

    private func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }
}
