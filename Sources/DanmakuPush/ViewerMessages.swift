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
        let batchWindowMs: Int
    }

    struct Gap: Encodable {
        let type = "gap"
        let room: String
        let from: UInt64
        let to: UInt64
    }

    struct Ack: Encodable {
        let type = "ack"
        let id: String
        let room: String
        let seq: UInt64
        let ts: Int64
    }

    struct Failure: Encodable {
        let type = "error"
        let code: String
        let message: String
        let retryAfter: Int?
    }

    /// A text frame with `message` JSON-encoded; for the rare, per-viewer messages.
    static func frame(_ message: some Encodable) -> ByteBuffer {
        // Encoding these fixed shapes cannot fail; fall back to an empty object rather than trap.
        let payload = (try? WireCodec.encode(message)) ?? ByteBuffer(string: "{}")
        return ServerFrame.text(payload)
    }

    static func error(_ error: DanmakuError) -> ByteBuffer {
        frame(Failure(code: error.code, message: error.message, retryAfter: error.retryAfterSeconds))
    }

    /// One `comments` frame: header and payload written into a single exactly-sized buffer.
    ///
    /// The comments' JSON is copied in as-is; nothing is encoded per batch or per viewer.
    static func batch(room: RoomID, comments: some Collection<EncodedComment>, allocator: ByteBufferAllocator) -> ByteBuffer {
        let prefix = #"{"type":"comments","room":""#
        let middle = #"","comments":"#
        let payloadLength = prefix.utf8.count + room.value.utf8.count + middle.utf8.count
            + WireCodec.arrayLength(of: comments) + 1
        var buffer = allocator.buffer(capacity: ServerFrame.headerLength(payloadLength: payloadLength) + payloadLength)
        ServerFrame.writeHeader(opcode: .text, payloadLength: payloadLength, into: &buffer)
        buffer.writeString(prefix)
        buffer.writeString(room.value)
        buffer.writeString(middle)
        WireCodec.writeArray(of: comments, into: &buffer)
        buffer.writeInteger(UInt8(ascii: "}"))
        return buffer
    }
}
