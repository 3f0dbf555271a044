// Danmaku — a live-stream bullet-comment service.

import Foundation
import NIOCore

/// A notice: a JSON payload from a backend or a streamer's tool (a gift, a pinned message),
/// numbered in the room's sequence and carried in the same batches as comments.
///
/// On the wire it is an item of a `comments` batch with `"kind":"notice"`:
/// `{"seq":N,"id":…,"kind":"notice","payload":{…},"room":…,"ts":…,"user":{…}}` (keys sorted after
/// `seq`, like a comment's).
public enum Notice {
    /// The largest payload, as compact JSON.
    public static let maxPayloadBytes = 4096

    /// Why a payload is refused, or nil: it must be a JSON object of at most `maxPayloadBytes`.
    public static func canonicalPayload(_ body: [UInt8]) -> Result<ByteBuffer, DanmakuError> {
        guard String(validating: body, as: UTF8.self) != nil else { return .failure(.invalidJSON("not valid UTF-8")) }
        guard let object = try? JSONSerialization.jsonObject(with: Data(body)), object is [String: Any],
            let compact = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        else {
            return .failure(.invalidJSON("a notice's payload must be a JSON object"))
        }
        guard compact.count <= maxPayloadBytes else {
            return .failure(.invalidField("payload", "a notice's payload may be at most \(maxPayloadBytes) bytes of JSON"))
        }
        return .success(ByteBuffer(bytes: compact))
    }

    /// The notice's JSON without `seq`, ready to be numbered by a store.
    public static func unnumberedJSON(id: String, room: RoomID, payload: ByteBuffer, ts: Int64, author: CommentAuthor) throws -> ByteBuffer {
        var json = ByteBuffer()
        json.writeStaticString("{\"id\":")
        json.writeBytes(try WireCodec.encoder.encode(id))
        json.writeStaticString(",\"kind\":\"notice\",\"payload\":")
        json.writeImmutableBuffer(payload)
        json.writeStaticString(",\"room\":")
        json.writeBytes(try WireCodec.encoder.encode(room.value))
        json.writeStaticString(",\"ts\":")
        json.writeString(String(ts))
        json.writeStaticString(",\"user\":")
        json.writeBytes(try WireCodec.encoder.encode(author))
        json.writeStaticString("}")
        return json
    }
}
