// Danmaku — a live-stream bullet-comment service.

/// Any message the server sends a viewer (docs/PROTOCOL.md), with the fields the client reads;
/// what a type does not carry is nil.
struct ServerMessage: Decodable {
    var type: String
    var room: String?
    var lastSeq: UInt64?
    var epoch: Int64?
    var online: Int?
    var comments: [DanmakuComment]?
    var from: UInt64?
    var to: UInt64?
    var seq: UInt64?
    var id: String?
    var count: Int?
    var ts: Int64?
    var code: String?
    var message: String?
    var retryAfter: Int?
    /// The idempotency key of the post an `ack` or `error` answers.
    var idempotencyKey: String?
    var likes: [CommentLikes]?
    /// Merged repeats: each group is a kept comment's seq, then the seqs it stands for.
    var merged: [[UInt64]]?
}
