// Danmaku — a live-stream bullet-comment service.

import Foundation
import NIOCore

/// A comment together with its JSON bytes, encoded once when the comment is accepted.
///
/// Everything downstream (history answers, batch frames, the bus) reuses `json` instead of
/// encoding again; this is what makes fan-out cost independent of the comment's shape.
public struct EncodedComment: Sendable, Hashable {
    /// The room the comment belongs to.
    public let room: RoomID
    /// The comment's sequence number in its room.
    public let seq: UInt64
    /// The comment's id.
    public let id: String
    /// The comment as a JSON object (`{"seq":…}`), ready to be concatenated into a frame.
    public let json: ByteBuffer

    /// Encodes `comment`.
    public init(_ comment: Comment, room: RoomID) throws {
        self.room = room
        self.seq = comment.seq
        self.id = comment.id
        self.json = ByteBuffer(bytes: try WireCodec.encoder.encode(comment))
    }

    /// Wraps bytes that are already a comment's JSON (e.g. received from a bus).
    public init(room: RoomID, seq: UInt64, id: String, json: ByteBuffer) {
        self.room = room
        self.seq = seq
        self.id = id
        self.json = json
    }

    /// Decodes the JSON back into a model value.
    public func decoded() throws -> Comment {
        try WireCodec.decoder.decode(Comment.self, from: json)
    }
}
