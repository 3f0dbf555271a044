// Danmaku — a live-stream bullet-comment service.

import DanmakuCore
import NIOCore

/// The Server-Sent Events form of what a viewer is sent (`GET /v1/rooms/{room}/events`), for
/// clients that cannot open a WebSocket.
///
/// The fan-out builds WebSocket frames once per batch; a viewer on an event stream turns each into
/// an event as it is written: the frame's JSON becomes `data:` (JSON has no raw newlines), a
/// `comments` message gets `id:` = its last seq (so `Last-Event-ID` resumes), and a ping becomes a
/// comment line that keeps proxies from timing the stream out.
enum EventStream {
    /// The response head, written as bytes: the body has no length and ends when the stream does.
    static let responseHead = ByteBuffer(string: "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\n"
        + "Cache-Control: no-cache\r\nX-Accel-Buffering: no\r\nConnection: close\r\n\r\n")

    /// The event for a server frame; nil for frames with no event form (close).
    static func event(fromFrame frame: ByteBuffer, allocator: ByteBufferAllocator) -> ByteBuffer? {
        guard let first = frame.getInteger(at: frame.readerIndex, as: UInt8.self) else { return nil }
        switch first & 0x0F {
        case 0x9: return ByteBuffer(string: ": ping\n\n")
        case 0x1: break
        default: return nil
        }
        guard let payload = ServerFrame.payload(of: frame) else { return nil }
        var event = allocator.buffer(capacity: payload.readableBytes + 32)
        if let seq = lastSeq(inComments: payload) {
            event.writeString("id: \(seq)\n")
        }
        event.writeStaticString("data: ")
        event.writeImmutableBuffer(payload)
        event.writeStaticString("\n\n")
        return event
    }

    /// The seq a `comments` message brings its reader to: the batch's own `lastSeq` when a display
    /// budget shed some (it may be past the last comment carried), else its last comment's seq;
    /// nil for other messages.
    static func lastSeq(inComments payload: ByteBuffer) -> UInt64? {
        let view = payload.readableBytesView
        guard view.starts(with: #"{"type":"comments""#.utf8) else { return nil }
        if let comments = view.firstRange(of: Array(#""comments":["#.utf8)),
            let field = view[..<comments.lowerBound].firstRange(of: Array(#","lastSeq":"#.utf8)) {
            return EncodedComment.unsignedInteger(in: view, at: field.upperBound)
        }
        let key = Array(#"{"seq":"#.utf8)
        guard let last = view.lastRange(of: key) else { return nil }
        return EncodedComment.unsignedInteger(in: view, at: last.upperBound)
    }
}

/// Drops whatever an event-stream client sends after its request: the stream only goes one way.
final class DiscardInbound: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}
}
