// Danmaku — a live-stream bullet-comment service.

import NIOCore
import NIOWebSocket

/// Cuts a client's WebSocket frames (RFC 6455 §5.2) out of the bytes the socket delivers.
///
/// The `ProtocolGuard` parses for itself instead of sitting behind NIO's decoder in a
/// `ByteToMessageHandler` (which `ViewerSocketUpgrader` does not install): an idle viewer then
/// holds no decoder, no buffers of its own and no handler context for it (about half a kilobyte
/// per connection, measured with heaptrack). Between frames the parser holds nothing.
struct ClientFrameParser {
    enum Failure: Error, Equatable {
        /// A frame longer than the limit (checked on its header, before any payload is kept).
        case tooLarge
        /// A control frame longer than 125 bytes or fragmented (§5.5).
        case malformedControlFrame
    }

    /// Largest frame payload accepted.
    let maxFrameBytes: Int
    /// Bytes received and not yet cut into frames; nil when there are none.
    private var pending: ByteBuffer?

    init(maxFrameBytes: Int) {
        self.maxFrameBytes = maxFrameBytes
    }

    /// Bytes held: received and not yet handed out as frames.
    var pendingBytes: Int { pending?.readableBytes ?? 0 }

    /// Adds bytes read from the socket.
    mutating func append(_ bytes: ByteBuffer) {
        guard bytes.readableBytes > 0 else { return }
        if pending == nil {
            pending = bytes
        } else {
            var bytes = bytes
            // What was parsed goes first: the buffer holds at most one frame and one read.
            pending!.discardReadBytes()
            pending!.writeBuffer(&bytes)
        }
    }

    /// Forgets what was not parsed (the connection is closing).
    mutating func reset() {
        pending = nil
    }

    /// The next complete frame, or nil until more bytes arrive. A thrown failure ends the
    /// connection; the bytes after it are not looked at.
    mutating func next() throws(Failure) -> WebSocketFrame? {
        guard let buffer = pending, buffer.readableBytes >= 2,
              let first = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self),
              let second = buffer.getInteger(at: buffer.readerIndex + 1, as: UInt8.self)
        else { return nil }
        let start = buffer.readerIndex
        let fin = first & 0x80 != 0
        let opcodeBits = first & 0x0F
        var headerBytes = 2
        let length: UInt64
        switch second & 0x7F {
        case 126:
            guard let value = buffer.getInteger(at: start + 2, as: UInt16.self) else { return nil }
            length = UInt64(value)
            headerBytes = 4
        case 127:
            guard let value = buffer.getInteger(at: start + 2, as: UInt64.self) else { return nil }
            length = value
            headerBytes = 10
        case let short:
            length = UInt64(short)
        }
        // Control opcodes have the high bit set (0x8-0xF).
        if opcodeBits & 0x08 != 0, length > 125 || !fin { throw .malformedControlFrame }
        // Compared as UInt64 first: a 64-bit length from the peer never becomes an Int unchecked.
        guard length <= UInt64(maxFrameBytes) else { throw .tooLarge }
        let masked = second & 0x80 != 0
        let maskAt = start + headerBytes
        if masked { headerBytes += 4 }
        let payloadBytes = Int(length)
        guard buffer.readableBytes >= headerBytes + payloadBytes else { return nil }
        let maskKey = masked ? buffer.getBytes(at: maskAt, length: 4).flatMap(WebSocketMaskingKey.init) : nil
        let data = buffer.getSlice(at: start + headerBytes, length: payloadBytes) ?? ByteBuffer()
        let consumed = headerBytes + payloadBytes
        if buffer.readableBytes == consumed {
            pending = nil
        } else {
            pending!.moveReaderIndex(forwardBy: consumed)
        }
        return WebSocketFrame(
            fin: fin, rsv1: first & 0x40 != 0, rsv2: first & 0x20 != 0, rsv3: first & 0x10 != 0,
            opcode: WebSocketOpcode(encodedWebSocketOpcode: opcodeBits)!, maskKey: maskKey, data: data)
    }
}
