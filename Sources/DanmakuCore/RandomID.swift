// Danmaku — a live-stream bullet-comment service.

/// Random identifiers for comments and notices: version 4 UUIDs in lowercase
/// (`1b4e28ba-2fa1-41d2-883f-0016d3cca427`).
///
/// Made from the standard library's system generator (the `getrandom` call) rather than
/// Foundation's `UUID()`, which on Linux opens `/dev/urandom` for each one: a file opened and
/// closed per post, seen as about 2 % of a core at 2,000 posts a second.
public enum RandomID {
    /// A new identifier, written straight into its string (one allocation; made for every post
    /// and every request id).
    public static func make() -> String {
        var generator = SystemRandomNumberGenerator()
        let words: (UInt64, UInt64) = (generator.next(), generator.next())
        return String(unsafeUninitializedCapacity: 36) { text in
            var position = 0
            for index in 0..<16 {
                let word = index < 8 ? words.0 : words.1
                var byte = UInt8(truncatingIfNeeded: word >> ((index & 7) * 8))
                if index == 6 { byte = byte & 0x0F | 0x40 }  // version 4: random
                if index == 8 { byte = byte & 0x3F | 0x80 }  // the RFC 4122 variant
                if index == 4 || index == 6 || index == 8 || index == 10 {
                    text[position] = UInt8(ascii: "-")
                    position += 1
                }
                text[position] = hexDigit(byte >> 4)
                text[position + 1] = hexDigit(byte & 0x0F)
                position += 2
            }
            return position
        }
    }

    /// The lowercase hex digit of `nibble` (0–15), by arithmetic (no table to index).
    @inline(__always)
    static func hexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") - 10 + nibble
    }
}
