// Danmaku — a live-stream bullet-comment service.

import Foundation
import NIOCore
import NIOWebSocket

/// What the client writes: its join messages, socket paths and frames, and its reconnect pacing.
extension DanmakuClient {
    /// A `join` for `room` that resumes after what the cursor has seen.
    static func joinMessage(_ room: String, cursor: RoomCursor) -> [String: Any] {
        var message: [String: Any] = ["type": "join", "room": room]
        if let lastSeq = cursor.lastSeq { message["since"] = lastSeq }
        if let epoch = cursor.epoch { message["epoch"] = epoch }
        return message
    }

    /// The socket path of `room` with `query`, percent-encoded.
    static func path(room: String, query: [(String, String)]) -> String {
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-._~"))
        let escapedRoom = room.addingPercentEncoding(withAllowedCharacters: allowed) ?? room
        let parameters = query.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed) ?? $0.1)" }
        return "/v1/rooms/\(escapedRoom)/ws" + (parameters.isEmpty ? "" : "?" + parameters.joined(separator: "&"))
    }

    /// A masked text frame of `message` as JSON.
    static func frame(_ message: [String: Any]) throws -> WebSocketFrame {
        let data = try JSONSerialization.data(withJSONObject: message)
        return WebSocketFrame(fin: true, opcode: .text, maskKey: .random(), data: ByteBuffer(bytes: data))
    }

    /// 0.1 s doubling to 5 s, each with up to a fifth added at random (clients that lost the same
    /// server do not all come back at once).
    static func backoff(attempt: Int) -> Duration {
        let base = Swift.min(5.0, 0.1 * pow(2.0, Double(Swift.min(attempt, 16))))
        return .milliseconds(Int64(base * 1000 * Double.random(in: 1...1.2)))
    }
}
