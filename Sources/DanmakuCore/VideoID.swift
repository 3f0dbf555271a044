// Danmaku — a live-stream bullet-comment service.

/// A recorded video's identifier: the room id's alphabet and length (1–64 of `[A-Za-z0-9_-]`).
///
/// A video and a room of the same name share who may do what: a token scoped to room `cats`
/// is staff of video `cats` too, and the bans and settings of `cats` apply to both.
public struct VideoID: Hashable, Sendable, CustomStringConvertible {
    /// The identifier as sent by clients.
    public let value: String

    /// Validates `value` as `RoomID` does.
    public init?(_ value: some StringProtocol) {
        guard let valid = RoomID(value) else { return nil }
        self.value = valid.value
    }

    /// The room whose staff, bans and settings the video shares.
    public var scope: RoomID { RoomID(value)! }

    public var description: String { value }
}

/// Where a video's comments are cut into segments for fetching: six minutes each, as the big
/// sites serve theirs, so a player fetches what it is about to play and nothing more.
public enum VideoSegment {
    /// A segment's length in milliseconds.
    public static let milliseconds: Int64 = 360_000
    /// The segment numbers a client may ask for: those of offsets up to the latest
    /// (`ClientNumber.maxOffsetMilliseconds`).
    public static let numbers: ClosedRange<UInt64> = 0...(ClientNumber.maxOffsetMilliseconds / UInt64(milliseconds))

    /// The offsets of segment `n`, `[from, to)`.
    public static func offsets(of n: Int64) -> Range<Int64> {
        (n * milliseconds)..<((n + 1) * milliseconds)
    }

    /// The segment that holds `offsetMs` (a negative offset counts as 0).
    public static func number(of offsetMs: Int64) -> Int64 {
        max(offsetMs, 0) / milliseconds
    }
}
