// Danmaku — a live-stream bullet-comment service.

/// A look at an XML file's bytes before an XML parser gets them, refusing what a Bilibili
/// danmaku file never holds and what makes libxml2 slow: another encoding than UTF-8 (whose
/// decoding would hide a document type from this look), invalid UTF-8 or a NUL, a document type
/// declaration or any markup declaration (entities expand inside the parser, before any bound of
/// the reader's), and a tag with many attributes (libxml2 compares each with all before it: a
/// tag of a million takes it half an hour). Linear in the file, and in one pass.
enum XMLPrescreen {
    /// The most attributes a tag may have (a Bilibili `<d>` has one).
    static let maxAttributes = 16

    /// Why the file is refused, or nil.
    static func refusal(of bytes: [UInt8]) -> FileFormatError? {
        if bytes.starts(with: [0xFE, 0xFF]) || bytes.starts(with: [0xFF, 0xFE]) || bytes.starts(with: [0, 0, 0xFE, 0xFF]) {
            return FileFormatError(line: 1, reason: "the file is UTF-16 or UTF-32; a danmaku file is read as UTF-8")
        }
        guard String(validating: bytes, as: UTF8.self) != nil else {
            return FileFormatError(line: line(at: firstInvalidUTF8(bytes), in: bytes), reason: "the file is not valid UTF-8")
        }
        // A UTF-8 byte order mark does not stop libxml2 switching to the encoding declared after it.
        let utf8BOM: [UInt8] = [0xEF, 0xBB, 0xBF]
        if let refusal = declaredEncoding(bytes.starts(with: utf8BOM) ? Array(bytes.dropFirst(3)) : bytes) { return refusal }
        var lineNumber = 1
        var index = 0
        let count = bytes.count
        while index < count {
            let byte = bytes[index]
            switch byte {
            case 0:
                return FileFormatError(line: lineNumber, reason: "the file holds a NUL byte")
            case UInt8(ascii: "\n"):
                lineNumber += 1
                index += 1
            case UInt8(ascii: "<"):
                if bytes[index...].starts(with: Array("<!--".utf8)) {
                    guard let end = find(Array("-->".utf8), in: bytes, from: index + 4) else { return nil }  // the parser says it is cut off
                    lineNumber += newlines(in: bytes, from: index, to: end)
                    index = end + 3
                } else if bytes[index...].starts(with: Array("<![CDATA[".utf8)) {
                    guard let end = find(Array("]]>".utf8), in: bytes, from: index + 9) else { return nil }
                    lineNumber += newlines(in: bytes, from: index, to: end)
                    index = end + 3
                } else if index + 1 < count, bytes[index + 1] == UInt8(ascii: "?") {
                    // A processing instruction: its quotes mean nothing to XML, so none are tracked.
                    guard let end = find(Array("?>".utf8), in: bytes, from: index + 2) else { return nil }
                    lineNumber += newlines(in: bytes, from: index, to: end)
                    index = end + 2
                } else if index + 1 < count, bytes[index + 1] == UInt8(ascii: "!") {
                    return FileFormatError(line: lineNumber, reason: "a document type or markup declaration is not allowed in a danmaku file")
                } else {
                    // A tag: its attributes are the `=` outside quotes; a quote opens a value only
                    // right after an `=` (spaces between allowed), as in XML.
                    var attributes = 0
                    var quote: UInt8?
                    var afterEquals = false
                    index += 1
                    while index < count, quote != nil || bytes[index] != UInt8(ascii: ">") {
                        let inner = bytes[index]
                        if inner == UInt8(ascii: "\n") { lineNumber += 1 }
                        if let open = quote {
                            if inner == open { quote = nil }
                        } else if afterEquals, inner == UInt8(ascii: "\"") || inner == UInt8(ascii: "'") {
                            quote = inner
                            afterEquals = false
                        } else if inner == UInt8(ascii: "=") {
                            attributes += 1
                            afterEquals = true
                            if attributes > maxAttributes {
                                return FileFormatError(line: lineNumber, reason: "a tag has more than \(maxAttributes) attributes")
                            }
                        } else if inner != UInt8(ascii: " "), inner != UInt8(ascii: "\t"), inner != UInt8(ascii: "\n"), inner != UInt8(ascii: "\r") {
                            afterEquals = false
                        }
                        index += 1
                    }
                    // A tag that never closes is not XML: libxml2 refuses it, quickly.
                    index += 1
                }
            default:
                index += 1
            }
        }
        return nil
    }

    /// The XML declaration's `encoding`, when it names another than UTF-8.
    private static func declaredEncoding(_ bytes: [UInt8]) -> FileFormatError? {
        guard bytes.starts(with: Array("<?xml".utf8)), let end = find(Array("?>".utf8), in: bytes, from: 5) else { return nil }
        let declaration = String(decoding: bytes[..<end], as: UTF8.self).lowercased()
        guard let range = declaration.range(of: "encoding") else { return nil }
        let value = declaration[range.upperBound...].drop { $0 == " " || $0 == "=" || $0 == "\"" || $0 == "'" }
            .prefix { $0 != "\"" && $0 != "'" && $0 != " " }
        return value == "utf-8" || value == "utf8" ? nil : FileFormatError(line: 1, reason: "the file declares encoding \(value); a danmaku file is UTF-8")
    }

    private static func find(_ needle: [UInt8], in bytes: [UInt8], from start: Int) -> Int? {
        guard start <= bytes.count, needle.count <= bytes.count else { return nil }
        var index = start
        while index + needle.count <= bytes.count {
            if bytes[index] == needle[0], bytes[index..<(index + needle.count)].elementsEqual(needle) { return index }
            index += 1
        }
        return nil
    }

    private static func newlines(in bytes: [UInt8], from start: Int, to end: Int) -> Int {
        bytes[start..<end].reduce(0) { $0 + ($1 == UInt8(ascii: "\n") ? 1 : 0) }
    }

    private static func line(at offset: Int, in bytes: [UInt8]) -> Int {
        newlines(in: bytes, from: 0, to: min(offset, bytes.count)) + 1
    }

    /// The offset of the first byte that is not valid UTF-8 (a line for the refusal).
    private static func firstInvalidUTF8(_ bytes: [UInt8]) -> Int {
        var decoder = UTF8()
        var iterator = bytes.makeIterator()
        var offset = 0
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let scalar): offset += UTF8.width(scalar)
            case .emptyInput, .error: return offset
            }
        }
    }
}
