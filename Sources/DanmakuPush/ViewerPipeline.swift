// Danmaku — a live-stream bullet-comment service.

import DanmakuCore
import NIOCore
import NIOWebSocket

/// The handlers of a viewer's channel once the `ViewerSocketUpgrader` has answered: the
/// `FrameOutlet` at the head, the `ProtocolGuard` (which parses frames from the socket's bytes),
/// and the `ViewerHandler`.
///
/// The server, the tests, the fuzz harness and the benchmarks all build viewers with this, so
/// they exercise the same pipeline. Socket options (write bounds, send buffer) are the server's.
public enum ViewerPipeline {
    /// Turns an HTTP connection, whose last request asked for an event stream of `room`, into that
    /// stream: the answer is the `EventStreamOutlet` (which writes the response head) and the
    /// viewer, added behind the HTTP handlers, which stay; `DiscardInbound` ahead of them drops
    /// what the client sends after. Nothing is removed, so a pipelined request that NIO's HTTP
    /// handlers already hold is never answered on this connection (its answer, the stream, says
    /// `Connection: close`).
    public static func startEventStream(on channel: any Channel, _ request: EventStreamRequest, hub: PushHub) throws {
        let pipeline = channel.pipeline.syncOperations
        try pipeline.addHandler(DiscardInbound(), position: .first)
        try pipeline.addHandler(EventStreamOutlet(version: request.version, requestID: request.requestID))
        try pipeline.addHandler(ViewerHandler(
            room: request.room, since: request.since, epoch: request.epoch, clientAddress: request.clientAddress, hub: hub,
            format: request.format))
    }

    public static func addHandlers(
        to channel: any Channel, room: RoomID, since: UInt64?, epoch: Int64? = nil, clientAddress: String, compression: Bool,
        hub: PushHub, token: String? = nil, format: WireFormat = .full
    ) throws {
        let pipeline = channel.pipeline.syncOperations
        try pipeline.addHandler(FrameOutlet(), position: .first)
        let push = hub.configuration
        let settings = ProtocolGuard.Settings(
            maxMessageBytes: push.maxInboundFrameBytes, frameRate: push.inboundMessageRate, closeTimeout: push.closeTimeout,
            compression: compression, acceptsBinary: false)
        // Viewers share their loop's zlib state: each compressed message is inflated on its own.
        // (No closure for a viewer that did not negotiate compression: every idle viewer would
        // pay for its context.)
        let loop = channel.eventLoop
        let inflater: (() -> FrameCompressor?)? = compression ? { [hub] in hub.shard(for: loop).compressor() } : nil
        try pipeline.addHandler(ProtocolGuard(settings: settings, inflater: inflater))
        try pipeline.addHandler(ViewerHandler(
            room: room, since: since, epoch: epoch, clientAddress: clientAddress, hub: hub, compression: compression, token: token,
            format: format))
    }
}
