// Danmaku — a live-stream bullet-comment service.

/// How many viewers like comment `id` (`seq`) of a room: what a like changes, carried from the
/// logic tier over the bus to push nodes and on to viewers (`{"type":"likes",…}`).
public struct LikeCount: Codable, Sendable, Hashable {
    public var id: String
    public var seq: UInt64
    public var count: Int

    public init(id: String, seq: UInt64, count: Int) {
        self.id = id
        self.seq = seq
        self.count = count
    }
}
