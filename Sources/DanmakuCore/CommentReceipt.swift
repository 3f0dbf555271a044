// Danmaku — a live-stream bullet-comment service.

import NIOCore

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

    /// The receipt's JSON, as `WireCodec.encoder` writes it (keys sorted), without an encoder: the
    /// 201 of every post.
    public var json: ByteBuffer {
        var json = ByteBuffer()
        json.reserveCapacity(48 + id.utf8.count + room.utf8.count)
        json.writeStaticString("{")
        JSONWriter.writeKey("id", into: &json)
        JSONWriter.writeString(id, into: &json)
        json.writeStaticString(",")
        JSONWriter.writeKey("room", into: &json)
        JSONWriter.writeString(room, into: &json)
        json.writeStaticString(",")
        JSONWriter.writeKey("seq", into: &json)
        JSONWriter.writeInteger(seq, into: &json)
        json.writeStaticString(",")
        JSONWriter.writeKey("ts", into: &json)
        JSONWriter.writeInteger(ts, into: &json)
        json.writeStaticString("}")
        return json
    }
}
