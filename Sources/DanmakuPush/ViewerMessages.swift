// Danmaku — a live-stream bullet-comment service.

import DanmakuCore
import NIOCore

/// Server → viewer messages other than batches, and the batch frame builder.
enum ViewerMessage {
    struct Hello: Encodable {
        let type = "hello"
        let room: String
        let node: String
        let lastSeq: UInt64
        /// The room's numbering: a client holding seqs of another epoch resumes with `epoch`, and
        /// is sent this one from its start.
        let epoch: Int64
        let batchWindowMs: Int
        /// Viewers of the room across the deployment, as last known.
        let online: Int
        /// The room's display budget when it has one: batches then carry a sample and `shed`.
        let displayPerSecond: Int?
        /// How long the room's last batch took on this node, from its first comment's arrival
        /// to its last viewer's write: the window and the fan-out (0 before the first batch).
        let delayMs: Int
        /// The wire format of this connection's batches (`WireFormat`).
        let v: Int
    }

    /// The room's online count changed (sent at most once per presence interval, less often in a
    /// big room: `OnlineAnnouncements.spacingPerViewer`).
    struct Online: Encodable {
        let type = "online"
        let room: String
        let count: Int
    }

    struct Gap: Encodable {
        let type = "gap"
        let room: String
        let from: UInt64
        let to: UInt64
    }

    /// The answer to `leave`: nothing more of `room` follows.
    struct Left: Encodable {
        let type = "left"
        let room: String
    }

    struct Ack: Encodable {
        let type = "ack"
        let id: String
        let room: String
        let seq: UInt64
        let ts: Int64
        /// The post's idempotency key, when it sent one: posts are answered as they complete, not
        /// in the order they were sent, so a client matches answers by it.
        var idempotencyKey: String?
    }

    struct Retract: Encodable {
        let type = "retract"
        let room: String
        let seq: UInt64
        let id: String
        /// Why, when it was not taken back by hand (`reported`); left out otherwise.
        let reason: RetractReason?
    }

    /// Like counts that changed, in seq order.
    struct Likes: Encodable {
        let type = "likes"
        let room: String
        let likes: [LikeCount]
    }

    struct Failure: Encodable {
        let type = "error"
        let code: String
        let message: String
        let retryAfter: Int?
        /// The idempotency key of the post this refuses, when it sent one (see `Ack`).
        var idempotencyKey: String?
    }

    /// A text frame with `message` JSON-encoded; for the rare, per-viewer messages.
    static func frame(_ message: some Encodable) -> ByteBuffer {
        // Encoding these fixed shapes cannot fail; fall back to an empty object rather than trap.
        let payload = (try? WireCodec.encode(message)) ?? ByteBuffer(string: "{}")
        return ServerFrame.text(payload)
    }

    /// - Parameter idempotencyKey: the key of the post this answers, echoed so the client can
    ///   match the answer to its post.
    static func error(_ error: DanmakuError, idempotencyKey: String? = nil) -> ByteBuffer {
        frame(Failure(code: error.code, message: error.message, retryAfter: error.retryAfterSeconds, idempotencyKey: idempotencyKey))
    }

    static func batch(
        room: RoomID, comments: [EncodedComment], shed: (count: Int, lastSeq: UInt64)? = nil,
        merged: (groups: [[UInt64]], lastSeq: UInt64)? = nil, format: WireFormat = .full, allocator: ByteBufferAllocator
    ) -> ByteBuffer {
        ServerFrame.comments(room: room, comments: comments, shed: shed, merged: merged, format: format, allocator: allocator)
    }
}
