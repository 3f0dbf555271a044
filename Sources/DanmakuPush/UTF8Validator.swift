// Danmaku — a live-stream bullet-comment service.

/// Validates UTF-8 a piece at a time (RFC 3629), so a text message split over fragments is
/// refused on the fragment where it breaks, not after the last one arrives.
///
/// Tracks how many continuation bytes the current character still needs and the range the next
/// one must fall in (which excludes overlong forms, surrogates and code points past U+10FFFF).
public struct UTF8Validator: Sendable {
    private var needed = 0
    private var lower: UInt8 = 0x80
    private var upper: UInt8 = 0xBF

    public init() {}

    /// Takes the next bytes; false as soon as they cannot be part of valid UTF-8.
    public mutating func consume(_ bytes: some Sequence<UInt8>) -> Bool {
        for byte in bytes {
            if needed == 0 {
                switch byte {
                case 0x00...0x7F: continue
                case 0xC2...0xDF: needed = 1
                case 0xE0: (needed, lower) = (2, 0xA0)
                case 0xE1...0xEC, 0xEE...0xEF: needed = 2
                case 0xED: (needed, upper) = (2, 0x9F)
                case 0xF0: (needed, lower) = (3, 0x90)
                case 0xF1...0xF3: needed = 3
                case 0xF4: (needed, upper) = (3, 0x8F)
                default: return false
                }
            } else {
                guard byte >= lower, byte <= upper else { return false }
                (lower, upper) = (0x80, 0xBF)
                needed -= 1
            }
        }
        return true
    }

    /// Whether the bytes so far end on a character boundary (the message may end here).
    public var isComplete: Bool { needed == 0 }
}
