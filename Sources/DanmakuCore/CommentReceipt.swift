// Danmaku — a live-stream bullet-comment service.

/// What an accepted post answers (the 201 of an HTTP post, the `ack` of a socket post): enough to
/// find the comment again, and what a retry with the same idempotency key is answered.
public struct CommentReceipt: Codable, Sendable, Equatable {
    public var id: String
    public var room: String
    /// Its place in the room's sequence.
    public var seq: UInt64
    /// Acceptance time, ms since the epoch.
    public var ts: Int64

    /// The receipt of a stored comment.
    public init(_ comment: Comment) {
        (id, room, seq, ts) = (comment.id, comment.room, comment.seq, comment.ts)
    }
}
