// Danmaku — a live-stream bullet-comment service.

/// Random identifiers for comments and notices: version 4 UUIDs in lowercase
/// (`1b4e28ba-2fa1-41d2-883f-0016d3cca427`).
///
/// Made from the standard library's system generator (the `getrandom` call) rather than
/// Foundation's `UUID()`, which on Linux opens `/dev/urandom` for each one: a file opened and
/// closed per post, seen as about 2 % of a core at 2,000 posts a second.
public enum RandomID {
    /// A new identifier.
    public static func make() -> String {
        var generator = SystemRandomNumberGenerator()
        var bytes = [UInt8](repeating: 0, count: 16)
        for index in stride(from: 0, to: 16, by: 8) {
            let word = generator.next() as UInt64
            for shift in 0..<8 { bytes[index + shift] = UInt8(truncatingIfNeeded: word >> (shift * 8)) }
        }
        bytes[6] = bytes[6] & 0x0F | 0x40  // version 4: random
        bytes[8] = bytes[8] & 0x3F | 0x80  // the RFC 4122 variant
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(36)
        for (index, byte) in bytes.enumerated() {
            if index == 4 || index == 6 || index == 8 || index == 10 { text.append(UInt8(ascii: "-")) }
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}
