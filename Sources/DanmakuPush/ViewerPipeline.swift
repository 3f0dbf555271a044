// Danmaku — a live-stream bullet-comment service.

import DanmakuCore
import NIOCore
import NIOWebSocket

/// The handlers of a viewer's channel once NIO's upgrader has added its frame decoder: the
/// `FrameOutlet` at the head, the fragment aggregator, and the `ViewerHandler`.
///
/// The server, the tests, the fuzz harness and the benchmarks all build viewers with this, so
/// they exercise the same pipeline. Socket options (write bounds, send buffer) are the server's.
public enum ViewerPipeline {
    public static func addHandlers(
        to channel: any Channel, room: RoomID, since: UInt64?, clientAddress: String, compression: Bool, hub: PushHub,
        token: String? = nil
    ) throws {
        let pipeline = channel.pipeline.syncOperations
        try pipeline.addHandler(FrameOutlet(), position: .first)
        try pipeline.addHandler(NIOWebSocketFrameAggregator(
            minNonFinalFragmentSize: 0, maxAccumulatedFrameCount: 64,
            maxAccumulatedFrameSize: hub.configuration.maxInboundFrameBytes))
        try pipeline.addHandler(ViewerHandler(
            room: room, since: since, clientAddress: clientAddress, hub: hub, compression: compression, token: token))
    }
}
