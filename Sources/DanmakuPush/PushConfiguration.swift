// Danmaku — a live-stream bullet-comment service.

import DanmakuCore
import NIOCore

/// Settings of the push role. Defaults are documented once, in README.md.
public struct PushConfiguration: Sendable {
    /// Batch window in milliseconds; 0 sends one frame per comment (the naive mode).
    public var batchWindowMilliseconds = 10
    /// Frames a node may write per second, overriding the budget each loop measures for itself;
    /// each room's window widens (between the batch window and `maxBatchWindowMilliseconds`) to
    /// stay under it.
    public var maxSendsPerSecond: Int?
    /// Longest window the self-tuning window chooses while the node keeps up.
    public var maxBatchWindowMilliseconds = 250
    /// Longest window an overloaded room may get: a node that cannot write each viewer a frame
    /// per `maxBatchWindowMilliseconds` widens up to this rather than fall behind, and sheds past
    /// it (see `BatchWindowController`).
    public var maxDelayMilliseconds = 5_000
    /// The share of its time a loop should be busy at most: each room's window is chosen so that
    /// fan-out takes what posts, joins and heartbeats leave of it (see `BatchWindowController`),
    /// and the rest stays free to answer at once.
    public var targetLoopBusy = 0.6
    /// How long a loop writes a batch to many viewers before it serves its sockets again: what a
    /// post, a join or a pong waits at most for a hot room's fan-out.
    public var fanOutSlice = TimeAmount.milliseconds(1)
    /// Accept permessage-deflate: a room's batch is then compressed once per loop and the same
    /// compressed bytes go to every viewer that negotiated it.
    public var compression = true
    /// Whether viewers may post over their socket; when off (watch-only push nodes) posts go
    /// through the HTTP API only and a `comment` message is answered `posting_disabled`.
    public var viewerPosts = true
    /// How often the server pings a viewer.
    public var pingInterval = TimeAmount.seconds(20)
    /// A viewer that sent no frame (pong included) for this long is closed.
    public var idleTimeout = TimeAmount.seconds(60)
    /// Largest inbound WebSocket message, in bytes.
    public var maxInboundFrameBytes = 4096
    /// Frames a viewer may send (posts, pings, pongs, anything); past it the connection is closed
    /// with 1008. Posts are also subject to the logic tier's user, IP and room limits.
    public var inboundMessageRate = RateLimit(perSecond: 20, burst: 40)
    /// Unwritten bytes a viewer may have queued before it is closed as a slow consumer.
    public var maxUnwrittenBytes = 1 << 20
    /// SO_SNDBUF for viewer sockets in bytes; nil keeps the kernel's autotuning. A small value
    /// caps kernel memory per idle viewer and makes slow consumers visible sooner.
    public var socketSendBufferBytes: Int?
    /// How long a viewer may take to answer a close frame before the socket is closed anyway.
    public var closeTimeout = TimeAmount.seconds(2)
    /// How long a comment that arrived ahead of a missing seq is held before the gap is skipped.
    public var reorderTimeout = TimeAmount.seconds(2)
    /// Name reported in `hello`.
    public var nodeName = "danmaku"
    /// The display budget of rooms whose settings set none (nil: rooms without a setting send
    /// every comment).
    public var defaultDisplayPerSecond: Int?
    /// Whether rooms whose settings say nothing send repeated comments once per batch (merged
    /// repeats; `--merge-repeats`).
    public var mergeRepeats = false
    /// Rooms one connection may watch at once (its URL's room and those it `join`s).
    public var maxRoomsPerConnection = 8

    public init() {}
}
