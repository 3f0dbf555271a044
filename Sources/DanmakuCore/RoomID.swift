// Danmaku — a live-stream bullet-comment service.

/// A room's identifier: 1–64 characters of `[A-Za-z0-9_-]`.
///
/// Because the alphabet needs no JSON escaping, a room id is written into frames verbatim.
public struct RoomID: Hashable, Sendable, CustomStringConvertible {
    /// The identifier as sent by clients.
    public let value: String

    /// The longest room id accepted.
    public static let maxLength = 64

    /// Validates `value`; `nil` when it is empty, too long or has a character outside the alphabet.
    public init?(_ value: some StringProtocol) {
        let utf8 = value.utf8
        guard !utf8.isEmpty, utf8.count <= Self.maxLength, utf8.allSatisfy(Self.isAllowed) else {
            return nil
        }
        self.value = String(value)
    }

    public var description: String { value }

    private static func isAllowed(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"):
            return true
        default:
            return false
        }
    }
}
