// Danmaku — a live-stream bullet-comment service.

import DanmakuIngest
import DanmakuLogic
import DanmakuPush
import NIOCore

/// Settings of one process: where it listens and the settings of each role it runs.
public struct ServerConfiguration: Sendable {
    /// Address to bind.
    public var host = "127.0.0.1"
    /// Port to bind; 0 picks a free one (see `DanmakuServer.port`).
    public var port = 7000
    /// EventLoop threads; 0 means one per available core.
    public var threads = 0
    /// How long shutdown waits for viewers to leave before closing everything.
    public var drainTimeout = TimeAmount.seconds(5)
    /// The HTTP API.
    public var ingest = IngestConfiguration()
    /// Validation, limits, filter, history.
    public var logic = LogicConfiguration()
    /// WebSocket viewers and batching.
    public var push = PushConfiguration()

    public init() {}
}
