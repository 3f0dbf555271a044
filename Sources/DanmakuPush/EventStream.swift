// Danmaku — a live-stream bullet-comment service.

import DanmakuCore
import NIOCore
import NIOHTTP1

/// The Server-Sent Events form of what a viewer is sent (`GET /v1/rooms/{room}/events`), for
/// clients that cannot open a WebSocket.
///
/// The fan-out builds WebSocket frames once per batch; a viewer on an event stream turns each into
/// an event as it is written: the frame's JSON becomes `data:` (JSON has no raw newlines), a
/// batch gets `id:` = the seq it brings the reader to (so `Last-Event-ID` resumes), and a ping
/// becomes a comment line that keeps proxies from timing the stream out.
enum EventStream {
    /// The response head, in the request's version: the body has no length and ends when the
    /// connection does (NIO's encoder sends an HTTP/1.1 body chunked; HTTP/1.0 has no chunks).
    static func responseHead(version: HTTPVersion, requestID: String) -> HTTPResponseHead {
        var headers: HTTPHeaders = [
            "Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-cache", "X-Accel-Buffering": "no",
            "Connection": "close",
        ]
        if !requestID.isEmpty { headers.add(name: "X-Request-Id", value: requestID) }
        return HTTPResponseHead(version: version == .http1_0 ? .http1_0 : .http1_1, status: .ok, headers: headers)
    }

    /// The event for a server frame, with `id` when the frame is a batch (the seq the fan-out
    /// says it covers: never read back from the JSON, where a notice may carry any text); nil for
    /// frames with no event form (close).
    ///
    /// An id is `EPOCH-SEQ` (`SEQ` for a room with no epoch yet): `Last-Event-ID` then resumes in
    /// the right numbering.
    static func event(fromFrame frame: ByteBuffer, id: String?, allocator: ByteBufferAllocator) -> ByteBuffer? {
        guard let first = frame.getInteger(at: frame.readerIndex, as: UInt8.self) else { return nil }
        switch first & 0x0F {
        case 0x9: return ByteBuffer(string: ": ping\n\n")
        case 0x1: break
        default: return nil
        }
        guard let payload = ServerFrame.payload(of: frame) else { return nil }
        var event = allocator.buffer(capacity: payload.readableBytes + 32)
        if let id {
            event.writeString("id: \(id)\n")
        }
        event.writeStaticString("data: ")
        event.writeImmutableBuffer(payload)
        event.writeStaticString("\n\n")
        return event
    }

    /// The event id of a batch that brings the reader to `seq` of `epoch`.
    static func id(seq: UInt64, epoch: Int64) -> String {
        epoch > 0 ? "\(epoch)-\(seq)" : "\(seq)"
    }
}

/// What a request for an event stream asked for, and whom it counts as.
public struct EventStreamRequest: Sendable {
    public var room: RoomID
    /// Resume after this seq (`?since=` or `Last-Event-ID`); nil: from now.
    public var since: UInt64?
    /// The numbering `since` is in.
    public var epoch: Int64?
    public var format: WireFormat
    /// The client the stream counts as (a resume is charged to its read budget).
    public var clientAddress: String
    /// The request's HTTP version, which the answer speaks.
    public var version: HTTPVersion
    /// The request's id (`X-Request-Id`), which the answer carries (none when empty).
    public var requestID: String

    public init(
        room: RoomID, since: UInt64?, epoch: Int64?, format: WireFormat, clientAddress: String, version: HTTPVersion,
        requestID: String = ""
    ) {
        self.requestID = requestID
        self.room = room
        self.since = since
        self.epoch = epoch
        self.format = format
        self.clientAddress = clientAddress
        self.version = version
    }
}
