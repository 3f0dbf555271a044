// Danmaku — a live-stream bullet-comment service.

import NIOCore

/// Writes the few JSON values a post's hot path makes (a comment's fields, its receipt) straight
/// into a buffer, byte for byte as `WireCodec.encoder` (Foundation's `JSONEncoder` with sorted keys
/// and unescaped slashes) writes them: every post once ran `JSONEncoder` twice, a tenth of a
/// post's CPU. Tests hold the two to the same bytes.
public enum JSONWriter {
    /// Writes `text` as a JSON string: quoted, with `"`, `\` and the control characters escaped as
    /// `JSONEncoder` escapes them (`\b \f \n \r \t`, others as `\u00xx`); everything else as UTF-8.
    public static func writeString(_ text: String, into buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt8(ascii: "\""))
        var text = text
        text.withUTF8 { bytes in
            var start = 0
            for index in bytes.indices {
                let byte = bytes[index]
                guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
                // The run before it as it is, then the escape.
                buffer.writeBytes(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(bytes)[start..<index]))
                start = index + 1
                buffer.writeInteger(UInt8(ascii: "\\"))
                switch byte {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"): buffer.writeInteger(byte)
                case 0x08: buffer.writeInteger(UInt8(ascii: "b"))
                case 0x0C: buffer.writeInteger(UInt8(ascii: "f"))
                case 0x0A: buffer.writeInteger(UInt8(ascii: "n"))
                case 0x0D: buffer.writeInteger(UInt8(ascii: "r"))
                case 0x09: buffer.writeInteger(UInt8(ascii: "t"))
                default:
                    buffer.writeStaticString("u00")
                    buffer.writeInteger(RandomID.hexDigit(byte >> 4))
                    buffer.writeInteger(RandomID.hexDigit(byte & 0x0F))
                }
            }
            buffer.writeBytes(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(bytes)[start...]))
        }
        buffer.writeInteger(UInt8(ascii: "\""))
    }

    /// Writes `"key":` (a key of the hot path's own, which needs no escaping).
    public static func writeKey(_ key: StaticString, into buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt8(ascii: "\""))
        buffer.writeStaticString(key)
        buffer.writeStaticString("\":")
    }

    /// Writes an integer in decimal.
    public static func writeInteger(_ value: some BinaryInteger, into buffer: inout ByteBuffer) {
        buffer.writeString(String(value))
    }
}
