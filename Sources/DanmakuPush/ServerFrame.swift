// Danmaku — a live-stream bullet-comment service.

import DanmakuCore
import NIOCore
import NIOWebSocket

/// Complete server-to-client WebSocket frames as bytes.
///
/// Server frames are never masked (RFC 6455 §5.1), so a frame's bytes do not depend on the
/// connection: one buffer, header included, is written unchanged to every viewer of a room.
public enum ServerFrame {
    /// Size of the header for a payload of `length` bytes.
    public static func headerLength(payloadLength length: Int) -> Int {
        length < 126 ? 2 : (length <= Int(UInt16.max) ? 4 : 10)
    }

    /// The payload of a frame this enum built (unmasked, so the header is all that precedes it).
    public static func payload(of frame: ByteBuffer) -> ByteBuffer? {
        guard let lengthByte = frame.getInteger(at: frame.readerIndex + 1, as: UInt8.self) else { return nil }
        let header = (lengthByte & 0x7F) < 126 ? 2 : ((lengthByte & 0x7F) == 126 ? 4 : 10)
        return frame.getSlice(at: frame.readerIndex + header, length: frame.readableBytes - header)
    }

    /// Writes a final frame's header (FIN set, no mask) for `opcode` and `length`; `rsv1` marks a
    /// compressed message (permessage-deflate).
    public static func writeHeader(opcode: WebSocketOpcode, payloadLength length: Int, rsv1: Bool = false, into buffer: inout ByteBuffer) {
        buffer.writeInteger(0x80 | (rsv1 ? 0x40 : 0) | UInt8(webSocketOpcode: opcode))
        if length < 126 {
            buffer.writeInteger(UInt8(length))
        } else if length <= Int(UInt16.max) {
            buffer.writeInteger(UInt8(126))
            buffer.writeInteger(UInt16(length))
        } else {
            buffer.writeInteger(UInt8(127))
            buffer.writeInteger(UInt64(length))
        }
    }

    /// A text frame carrying `payload`.
    public static func text(_ payload: ByteBuffer, allocator: ByteBufferAllocator = ByteBufferAllocator()) -> ByteBuffer {
        frame(opcode: .text, payload: payload, allocator: allocator)
    }

    /// A close frame with a status code and a short reason.
    public static func close(code: WebSocketErrorCode, reason: String, allocator: ByteBufferAllocator = ByteBufferAllocator()) -> ByteBuffer {
        var payload = allocator.buffer(capacity: 2 + reason.utf8.count)
        payload.write(webSocketErrorCode: code)
        // Control frames hold at most 125 bytes.
        payload.writeBytes(reason.utf8.prefix(123))
        return frame(opcode: .connectionClose, payload: payload, allocator: allocator)
    }

    /// A frame of any opcode carrying `payload` (≤ 125 bytes for control frames).
    public static func frame(opcode: WebSocketOpcode, payload: ByteBuffer, allocator: ByteBufferAllocator = ByteBufferAllocator()) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: headerLength(payloadLength: payload.readableBytes) + payload.readableBytes)
        writeHeader(opcode: opcode, payloadLength: payload.readableBytes, into: &buffer)
        var payload = payload
        buffer.writeBuffer(&payload)
        return buffer
    }

    /// One `comments` frame: header and payload written into a single exactly-sized buffer.
    ///
    /// The comments' JSON is copied in as-is; nothing is encoded per batch or per viewer.
    ///
    /// Under a display budget, `shed` says how many seqs up to `lastSeq` the batch leaves out:
    /// `{"type":"comments","room":…,"shed":N,"lastSeq":L,"comments":[…]}`. With merged repeats,
    /// `merged` lists each kept comment's seq with the seqs it stands for:
    /// `{"type":"comments","room":…,"merged":[[42,45,47]],"lastSeq":L,"comments":[…]}`.
    public static func comments(
        room: RoomID, comments: [EncodedComment], shed: (count: Int, lastSeq: UInt64)? = nil,
        merged: (groups: [[UInt64]], lastSeq: UInt64)? = nil, format: WireFormat = .full, allocator: ByteBufferAllocator
    ) -> ByteBuffer {
        let comments = format == .compact
            ? comments.map { EncodedComment(room: $0.room, seq: $0.seq, json: $0.compactJSON()) } : comments
        let prefix = #"{"type":"comments","room":""#
        let middle: String
        if let shed {
            middle = #"","shed":\#(shed.count),"lastSeq":\#(shed.lastSeq),"comments":"#
        } else if let merged {
            let groups = merged.groups.map { "[" + $0.map(String.init).joined(separator: ",") + "]" }.joined(separator: ",")
            middle = #"","merged":[\#(groups)],"lastSeq":\#(merged.lastSeq),"comments":"#
        } else {
            middle = #"","comments":"#
        }
        let payloadLength = prefix.utf8.count + room.value.utf8.count + middle.utf8.count
            + WireCodec.arrayLength(of: comments) + 1
        var buffer = allocator.buffer(capacity: headerLength(payloadLength: payloadLength) + payloadLength)
        writeHeader(opcode: .text, payloadLength: payloadLength, into: &buffer)
        buffer.writeString(prefix)
        buffer.writeString(room.value)
        buffer.writeString(middle)
        WireCodec.writeArray(of: comments, into: &buffer)
        buffer.writeInteger(UInt8(ascii: "}"))
        return buffer
    }

    /// An empty ping; the same bytes serve every viewer.
    public static let ping = frame(opcode: .ping, payload: ByteBuffer())
}
