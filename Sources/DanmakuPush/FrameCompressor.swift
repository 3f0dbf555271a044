// Danmaku — a live-stream bullet-comment service.

import CompressNIO
import Foundation
import NIOCore
import NIOWebSocket

/// permessage-deflate (RFC 7692) without context takeover, for one EventLoop.
///
/// Without context takeover every message is compressed on its own, so one compressed batch
/// serves every viewer that negotiated the extension: a room's batch is deflated once per loop,
/// not once per viewer. Owned by a `PushShard`; zlib streams are reset after each message.
final class FrameCompressor {
    private let compressor: ZlibCompressor
    private let decompressor: ZlibDecompressor

    init() throws {
        compressor = try ZlibCompressor(algorithm: .deflate)
        decompressor = try ZlibDecompressor(algorithm: .deflate)
    }

    /// A complete text frame (FIN, RSV1 set) carrying `payload` deflated.
    func textFrame(payload: ByteBuffer, allocator: ByteBufferAllocator) throws -> ByteBuffer {
        var input = payload
        var deflated = allocator.buffer(capacity: compressor.maxSize(from: input))
        defer { try? compressor.reset() }
        try compressor.deflate(from: &input, to: &deflated, flush: .sync)
        // A sync flush ends with 00 00 FF FF, which the receiver adds back (RFC 7692 §7.2.1).
        deflated.moveWriterIndex(to: deflated.writerIndex - 4)
        var frame = allocator.buffer(capacity: ServerFrame.headerLength(payloadLength: deflated.readableBytes) + deflated.readableBytes)
        ServerFrame.writeHeader(opcode: .text, payloadLength: deflated.readableBytes, rsv1: true, into: &frame)
        frame.writeBuffer(&deflated)
        return frame
    }

    /// Inflates a viewer's compressed message; throws `tooLarge` past `maxSize` bytes. The output
    /// starts small and doubles as needed, so a generous limit costs nothing until it is used.
    func inflate(_ data: ByteBuffer, maxSize: Int, allocator: ByteBufferAllocator) throws -> ByteBuffer {
        var input = data
        input.writeBytes([0x00, 0x00, 0xFF, 0xFF])
        var output = allocator.buffer(capacity: min(maxSize, max(4096, input.readableBytes * 4)))
        defer { try? decompressor.reset() }
        while true {
            do {
                try decompressor.inflate(from: &input, to: &output)
                break
            } catch let error as CompressNIOError where error == .bufferOverflow {
                guard output.capacity < maxSize else { throw InflateError.tooLarge }
                output.reserveCapacity(min(maxSize, output.capacity * 2))
            } catch let error as CompressNIOError where error == .inputBufferOverflow {
                // All input consumed: the message is complete.
                break
            }
        }
        if input.readableBytes > 0 || output.readableBytes > maxSize { throw InflateError.tooLarge }
        return output
    }

    enum InflateError: Error {
        case tooLarge
    }
}

/// The permessage-deflate negotiation (RFC 7692 §7.1) from the server's side.
public enum PerMessageDeflate {
    /// What the server answers when it accepts an offer.
    public static let response = "permessage-deflate; server_no_context_takeover; client_no_context_takeover"

    /// Whether one of the client's offers can be accepted with shared, full-window compression.
    ///
    /// Offers that restrict the server's window (`server_max_window_bits` below 15) are declined:
    /// a batch compressed once must suit every viewer. Unknown parameters decline the offer.
    public static func accepts(_ headerValues: [String]) -> Bool {
        let offers = headerValues.flatMap { $0.split(separator: ",") }
        return offers.contains { offer in
            let parts = offer.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.first?.lowercased() == "permessage-deflate" else { return false }
            return parts.dropFirst().allSatisfy { parameter in
                let pair = parameter.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                switch pair[0].lowercased() {
                case "server_no_context_takeover", "client_no_context_takeover", "client_max_window_bits":
                    return true
                case "server_max_window_bits":
                    return pair.count == 2 && pair[1].trimmingCharacters(in: CharacterSet(charactersIn: "\"")) == "15"
                default:
                    return false
                }
            }
        }
    }
}
