// Danmaku — a live-stream bullet-comment service.

import ArgumentParser
import DanmakuServer
import Foundation
import NIOCore

/// `serve`'s options. Each default is the configuration's own (`ServerConfiguration()`), so it is
/// written once; the help shows it, `DANMAKU_*` variables set it (`EnvironmentDefaults`, which
/// reads the flags from the help), and `FlagTableTests` holds the README's table to the help.
struct ServeOptions: ParsableArguments {
    /// The configuration a node gets when no option is given.
    private static let defaults = ServerConfiguration()

    /// Whole seconds of a default duration, as the options take them.
    private static func seconds(_ amount: TimeAmount) -> Int { Int(amount.nanoseconds / 1_000_000_000) }

    @Option(help: "Roles to run: all, or a comma-separated list of ingest, logic (together) and push.")
    var roles = "all"

    @OptionGroup var busOptions: BusOptions

    @Option(help: "Secret of the HS256 tokens posts must carry (default: $DANMAKU_JWT_SECRET; none: open mode, anyone posts).")
    var jwtSecret: String?

    @Option(help: "Address to listen on.")
    var host = Self.defaults.host

    @Flag(help: "Let a node on a non-loopback address run without a JWT secret (anyone may post, anonymously).")
    var allowAnonymousPosts = false

    @Option(help: "Proxies (CIDR,CIDR,...) whose --client-address-header names the client for rate limits and connection caps.")
    var trustedProxies: String?

    @Option(help: "The header trusted proxies name the client in: x-forwarded-for or forwarded (the other is not read).")
    var clientAddressHeader = Self.defaults.ingest.clientAddress.header.rawValue

    @Option(help: "Port to listen on (0 picks a free port).")
    var port = Self.defaults.port

    @Option(help: "The base URL other hosts reach this node at (e.g. http://10.0.0.5:7000), announced in Redis for 'danmaku status --bus' (default: http://HOST:PORT, none when listening on every address).")
    var advertiseURL: String?

    @Option(help: "EventLoop threads (0 = one per core).")
    var threads = Self.defaults.threads

    @Option(name: .customLong("batch-window-ms"), help: "Shortest batch window in ms (a quiet room's); 0 sends one frame per comment.")
    var batchWindowMilliseconds = Self.defaults.push.batchWindowMilliseconds

    @Option(help: "Frames per second this node may write, instead of the budget each loop measures (default: self-tuning).")
    var maxSendsPerSecond: Int?

    @Option(name: .customLong("max-batch-window-ms"), help: "Longest window a busy room may get while the node keeps up, ms (equal to --batch-window-ms: a fixed window).")
    var maxBatchWindowMilliseconds = Self.defaults.push.maxBatchWindowMilliseconds

    @Option(name: .customLong("max-delay-ms"), help: "Longest window an overloaded room may get, ms: past --max-batch-window-ms only when the node cannot write every viewer a frame per that window (at least --max-batch-window-ms).")
    var maxDelayMilliseconds = Self.defaults.push.maxDelayMilliseconds

    @Flag(inversion: .prefixedEnableDisable, help: "Accept permessage-deflate (each batch compressed once per loop, shared by every viewer that negotiated it).")
    var compression = Self.defaults.push.compression

    @Flag(inversion: .prefixedEnableDisable, help: "Let viewers post over their WebSocket (off: watch-only push node).")
    var viewerPosts = Self.defaults.push.viewerPosts

    @Option(help: "Directory of the durable archive (SQLite): every accepted comment survives a restart, and streams can be replayed (default: memory only).")
    var dataDir: String?

    @Option(help: "Comments kept per room for resume and history.")
    var history = Self.defaults.logic.historyCapacity

    @Option(help: "Seconds a room with no post and no viewer is kept (memory and Redis); its next post starts a new epoch (0 = forever).")
    var roomIdleSeconds = Self.defaults.roomIdleSeconds

    @Option(help: "Most rooms held in memory per process; past it the least recently posted-to rooms without viewers are forgotten.")
    var maxRooms = Self.defaults.maxRooms

    @Option(help: "Most characters in a comment after trimming.")
    var maxTextLength = Self.defaults.logic.maxTextLength

    @Option(help: "Per-user limit, RATE/BURST comments per second.")
    var userRate = Self.defaults.logic.userLimit.description

    @Option(help: "Per-client-IP limit, RATE/BURST.")
    var ipRate = Self.defaults.logic.ipLimit.description

    @Option(help: "Per-room limit, RATE/BURST.")
    var roomRate = Self.defaults.logic.roomLimit.description

    @Option(help: "Expensive reads per client address (history, replay, room stats, socket joins and resumes, recalls), RATE/BURST.")
    var readRate = Self.defaults.logic.readLimit.description

    @Option(help: "Blocked-word list: one word per line, '#' comments (default: a small built-in list); SIGHUP reloads it.")
    var words: String?

    @Option(help: "What to do with a blocked word: reject (422) or mask (***).")
    var filterPolicy = Self.defaults.logic.filterPolicy.rawValue

    @Option(help: "Seconds within which the same user may not repeat the same text (0 disables).")
    var duplicateWindow = Self.defaults.logic.duplicateWindowSeconds

    @Option(help: "Seconds within which an author may take their own comment back (0: moderators only).")
    var recallSeconds = Self.defaults.logic.recallSeconds

    @Option(help: "Most comments one six-minute segment of a video serves (the privileged, then the most liked, then the newest).")
    var videoSegmentCap = Self.defaults.logic.videoSegmentCap

    @Option(help: "Most comments one video's pool holds (409 video_full past it).")
    var maxVideoComments = Self.defaults.logic.maxVideoComments

    @Option(help: "Largest HTTP request line and headers together, in bytes (431 headers_too_large; NIO stops at 80 KiB).")
    var maxHeaderBytes = Self.defaults.ingest.maxHeaderBytes

    @Option(help: "Largest HTTP request body, bytes.")
    var maxBodyBytes = Self.defaults.ingest.maxBodyBytes

    @Option(name: .customLong("max-connections-per-ip"), help: "Most open connections per client address (0 = no limit).")
    var maxConnectionsPerAddress = Self.defaults.ingest.maxConnectionsPerAddress

    @Option(help: "Most open connections on the node (default: the open-files limit less 256 kept for Redis, files and the runtime).")
    var maxConnections: Int?

    @Option(help: "Seconds an HTTP connection has to deliver a complete request (from opening or its previous answer).")
    var httpIdleTimeout = Self.seconds(Self.defaults.ingest.idleTimeout)

    @Option(help: "Largest inbound WebSocket message, bytes.")
    var maxFrameBytes = Self.defaults.push.maxInboundFrameBytes

    @Option(help: "Unwritten bytes per viewer before it is closed as a slow consumer.")
    var maxUnwrittenBytes = Self.defaults.push.maxUnwrittenBytes

    @Option(help: "Frames a viewer may send per second, RATE/BURST; past it the viewer is closed (1008).")
    var viewerMessageRate = Self.defaults.push.inboundMessageRate.description

    @Option(help: "SO_SNDBUF of viewer sockets in bytes (default: kernel autotuning).")
    var socketSendBuffer: Int?

    @Option(help: "Seconds between server pings.")
    var pingInterval = Self.seconds(Self.defaults.push.pingInterval)

    @Option(help: "Seconds without any frame from a viewer before it is closed.")
    var idleTimeout = Self.seconds(Self.defaults.push.idleTimeout)

    @Option(help: "Display budget of rooms whose settings set none: comments per second each viewer is sent (default: off).")
    var defaultDisplayPerSecond: Int?

    @Flag(inversion: .prefixedEnableDisable, help: "Send repeated comments (\"666\" × 48) once per batch with the seqs of the others, in rooms whose settings say nothing.")
    var mergeRepeats = Self.defaults.push.mergeRepeats

    @Option(help: "Rooms one viewer connection may watch at once (its URL's room and those it joins).")
    var maxRoomsPerConnection = Self.defaults.push.maxRoomsPerConnection

    @Option(help: "Node name reported to viewers in 'hello'.")
    var nodeName = ProcessInfo.processInfo.hostName

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel = "info"

    @Option(help: "Log format: text (one line per event) or json (one JSON object per line).")
    var logFormat = "text"

    @Option(help: "Export traces of posts over OTLP/HTTP to this URL (e.g. http://collector:4318; a URL without a path gets /v1/traces). Off by default. OTEL_* variables apply (OTEL_EXPORTER_OTLP_PROTOCOL=http/json).")
    var otelEndpoint: String?

    @Option(help: "Share of posts traced with --otel-endpoint, 0...1 (a client's sampled traceparent is always followed).")
    var otelSampleRatio = 0.01
}
