// Danmaku — a live-stream bullet-comment service.

import DanmakuLogic
import NIOCore

/// Settings of the HTTP API. Defaults are documented once, in README.md.
public struct IngestConfiguration: Sendable {
    /// Largest request body accepted, in bytes.
    public var maxBodyBytes = 4096
    /// Largest file body accepted (a pool's import, `APIBody.isFile`), in bytes: the import's own
    /// bound on a file (`VideoPoolTransfer.Limits.maxFileBytes`).
    public var maxFileBodyBytes = VideoPoolTransfer.Limits().maxFileBytes
    /// Largest request head (request line and headers) accepted, in bytes. NIO's parser stops at
    /// 80 KiB whatever this says; WebSocket upgrade requests are bound by it too.
    public var maxHeaderBytes = 16 * 1024
    /// Comments returned by the history API when `limit` is not given.
    public var defaultHistoryLimit = 100
    /// Largest `limit` the history API accepts.
    public var maxHistoryLimit = 1000

    /// An HTTP connection must deliver a complete request within this long of opening or of its
    /// previous answer, else it is closed: idle keep-alives, slowloris heads and endless bodies
    /// alike. WebSocket viewers have their own heartbeat.
    public var idleTimeout = TimeAmount.seconds(30)

    /// Requests of one connection parsed and not yet answered (pipelined) at which the connection
    /// is not read until one is answered.
    public var maxPipelinedRequests = 16
    /// Most requests of one connection parsed and not yet answered, those a read under way brought
    /// in past `maxPipelinedRequests` included; past it the rest is dropped and the connection
    /// closes once those before are answered.
    public var maxParsedRequests = 128
    /// Most bytes of answers an HTTP connection may have unwritten (its client not reading) before
    /// its next request waits and nothing more is read; they must be written within `idleTimeout`.
    public var maxUnwrittenAnswerBytes = 64 * 1024

    /// Most open connections (HTTP and WebSocket) per client address; 0 means no limit.
    public var maxConnectionsPerAddress = 1000
    /// Most open connections (HTTP and WebSocket) on the node; nil for the process's open-files
    /// limit less `ConnectionLimiter.reservedDescriptors`.
    public var maxConnections: Int?

    /// How a request's client address is found: the peer, or what a trusted proxy
    /// (`--trusted-proxies`) names in the one header the operator chose
    /// (`--client-address-header`); IPv4-mapped addresses as IPv4, IPv6 clients per /64.
    public var clientAddress = ClientAddress()

    /// Whether this node takes posts (it runs the logic role); otherwise they get 404 `role_not_served`.
    public var acceptsPosts = true
    /// Whether this node holds viewers (it runs the push role); otherwise upgrades get 404 `role_not_served`.
    public var servesViewers = true
    /// This node's name, as the dashboard shows it.
    public var nodeName = ""
    /// Whether this connection came past the node's cap, from the few kept for operators
    /// (`ConnectionLimiter.acquireOperatorSlot`): it is answered health checks and metrics only,
    /// anything else `503 node_full`, and never becomes a viewer's.
    public var operatorRequestsOnly = false

    public init() {}
}
