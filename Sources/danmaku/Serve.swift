// Danmaku — a live-stream bullet-comment service.

import DanmakuBus
import DanmakuCore
import ArgumentParser
import DanmakuArchive
import DanmakuAuth
import DanmakuIngest
import DanmakuLogic
import DanmakuServer
import Foundation
import Logging
import NIOCore
import ServiceLifecycle

/// `danmaku serve`: every role in one process on the embedded memory bus, or some roles of a
/// cluster joined by Redis.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run ingest, logic and push in one process, or some of them on a Redis bus (the default command).")

    @Option(help: "Roles to run: all, or a comma-separated list of ingest, logic (together) and push.")
    var roles = "all"

    @OptionGroup var busOptions: BusOptions

    @Option(help: "Secret of the HS256 tokens posts must carry (default: $DANMAKU_JWT_SECRET; none: open mode, anyone posts).")
    var jwtSecret: String?

    @Option(help: "Address to listen on.")
    var host = "127.0.0.1"

    @Flag(help: "Let a node on a non-loopback address run without a JWT secret (anyone may post, anonymously).")
    var allowAnonymousPosts = false

    @Option(help: "Proxies (CIDR,CIDR,...) whose Forwarded / X-Forwarded-For header names the client for rate limits and connection caps.")
    var trustedProxies: String?

    @Option(help: "Port to listen on (0 picks a free port).")
    var port = 7000

    @Option(help: "EventLoop threads (0 = one per core).")
    var threads = 0

    @Option(name: .customLong("batch-window-ms"), help: "Shortest batch window in ms (a quiet room's); 0 sends one frame per comment.")
    var batchWindowMilliseconds = 10

    @Option(help: "Frames per second this node may write, instead of the budget each loop measures (default: self-tuning).")
    var maxSendsPerSecond: Int?

    @Option(name: .customLong("max-batch-window-ms"), help: "Longest window a busy room may get, ms (equal to --batch-window-ms: a fixed window).")
    var maxBatchWindowMilliseconds = 250

    @Flag(inversion: .prefixedEnableDisable, help: "Accept permessage-deflate (each batch compressed once per loop, shared by every viewer that negotiated it).")
    var compression = true

    @Flag(inversion: .prefixedEnableDisable, help: "Let viewers post over their WebSocket (off: watch-only push node).")
    var viewerPosts = true

    @Option(help: "Directory of the durable archive (SQLite): every accepted comment survives a restart, and streams can be replayed (default: memory only).")
    var dataDir: String?

    @Option(help: "Comments kept per room for resume and history.")
    var history = 1000

    @Option(help: "Seconds a room with no post and no viewer is kept (memory and Redis); its next post starts a new epoch (0 = forever).")
    var roomIdleSeconds = 86_400

    @Option(help: "Most rooms held in memory per process; past it the least recently posted-to rooms without viewers are forgotten.")
    var maxRooms = 100_000

    @Option(help: "Most characters in a comment after trimming.")
    var maxTextLength = 200

    @Option(help: "Per-user limit, RATE/BURST comments per second.")
    var userRate = "2/10"

    @Option(help: "Per-client-IP limit, RATE/BURST.")
    var ipRate = "20/50"

    @Option(help: "Per-room limit, RATE/BURST.")
    var roomRate = "500/1000"

    @Option(help: "Expensive reads per client address (history, replay, room stats, socket joins), RATE/BURST.")
    var readRate = "20/100"

    @Option(help: "Blocked-word list: one word per line, '#' comments (default: a small built-in list); SIGHUP reloads it.")
    var words: String?

    @Option(help: "What to do with a blocked word: reject (422) or mask (***).")
    var filterPolicy = "reject"

    @Option(help: "Seconds within which the same user may not repeat the same text (0 disables).")
    var duplicateWindow = 10.0

    @Option(help: "Seconds within which an author may take their own comment back (0: moderators only).")
    var recallSeconds = 120

    @Option(help: "Largest HTTP request line and headers together, in bytes (431 headers_too_large; NIO stops at 80 KiB).")
    var maxHeaderBytes = 16 * 1024

    @Option(help: "Largest HTTP request body, bytes.")
    var maxBodyBytes = 4096

    @Option(name: .customLong("max-connections-per-ip"), help: "Most open connections per client address (0 = no limit).")
    var maxConnectionsPerAddress = 1000

    @Option(help: "Seconds an HTTP connection has to deliver a complete request (from opening or its previous answer).")
    var httpIdleTimeout = 30

    @Option(help: "Largest inbound WebSocket message, bytes.")
    var maxFrameBytes = 4096

    @Option(help: "Unwritten bytes per viewer before it is closed as a slow consumer.")
    var maxUnwrittenBytes = 1 << 20

    @Option(help: "Frames a viewer may send per second, RATE/BURST; past it the viewer is closed (1008).")
    var viewerMessageRate = "20/40"

    @Option(help: "SO_SNDBUF of viewer sockets in bytes (default: kernel autotuning).")
    var socketSendBuffer: Int?

    @Option(help: "Seconds between server pings.")
    var pingInterval = 20

    @Option(help: "Seconds without any frame from a viewer before it is closed.")
    var idleTimeout = 60

    @Option(help: "Display budget of rooms whose settings set none: comments per second each viewer is sent (default: off).")
    var defaultDisplayPerSecond: Int?

    @Option(help: "Rooms one viewer connection may watch at once (its URL's room and those it joins).")
    var maxRoomsPerConnection = 8

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

    func run() async throws {
        let configuration = try makeConfiguration()
        guard let level = Logger.Level(rawValue: logLevel) else {
            throw ValidationError("--log-level must be one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        // With traces exported, every line logged inside a span carries its trace_id and span_id.
        let tracing = otelEndpoint.map { _ in TraceExport.metadataProvider }
        switch logFormat {
        case "text": LoggingSystem.bootstrap({ StreamLogHandler.standardError(label: $0, metadataProvider: $1) }, metadataProvider: tracing)
        case "json": LoggingSystem.bootstrap(JSONLogHandler.init, metadataProvider: tracing)
        default: throw ValidationError("--log-format must be text or json")
        }
        var logger = Logger(label: "danmaku")
        logger.logLevel = level
        var services: [any Service] = []
        if let otelEndpoint {
            guard (0...1).contains(otelSampleRatio) else { throw ValidationError("--otel-sample-ratio must be between 0 and 1") }
            services.append(try TraceExport.start(
                endpoint: otelEndpoint, sampleRatio: otelSampleRatio, serviceName: "danmaku", node: configuration.push.nodeName, logger: logger))
        }
        var archive: ArchivedLog?
        if let directory = configuration.dataDirectory {
            archive = try await ArchivedLog.open(
                directory: URL(fileURLWithPath: directory), historyCapacity: configuration.logic.historyCapacity,
                retention: configuration.roomRetention, logger: logger)
        }
        let server = DanmakuServer(configuration: configuration, logger: logger, archive: archive)
        let host = configuration.host
        let service = DanmakuService(server: server) { port in
            let base = "http://\(host):\(port)"
            print("""
                Danmaku is serving on \(base) (\(configuration.roles), \(configuration.bus), batch window \(configuration.push.batchWindowMilliseconds) ms)
                  posting:        \(configuration.jwtSecret == nil ? "OPEN development mode: anyone may post, no token needed (set --jwt-secret to require tokens)" : "needs a token (Authorization: Bearer …; make one with `danmaku token`)")
                  watch a room:   ws://\(host):\(port)/v1/rooms/{room}/ws?since={seq}
                  post:           curl -X POST -H 'Content-Type: application/json' -d '{"text":"hello"}' \(base)/v1/rooms/{room}/comments
                  history:        \(base)/v1/rooms/{room}/comments?since=0
                  health:         \(base)/healthz
                  archive:        \(configuration.dataDirectory.map { "every accepted comment kept in \($0)/danmaku.sqlite; replay: \(base)/v1/rooms/{room}/replay" } ?? "none: comments live in memory (set --data-dir to keep them across restarts)")
                """)
            // Under a supervisor stdout is a pipe, and block-buffered: flush the banner now
            // (fflush(nil) flushes every stream without touching the global `stdout`).
            fflush(nil)
        }
        services.append(service)
        if let words {
            // Ignored until the reloader traps it, so a SIGHUP right after start cannot end the process.
            signal(SIGHUP, SIG_IGN)
            services.append(WordListReloader(path: words, server: server, logger: logger))
        }
        let group = ServiceGroup(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        try await group.run()
    }

    private func makeConfiguration() throws -> ServerConfiguration {
        var configuration = ServerConfiguration()
        configuration.host = host
        configuration.port = port
        configuration.threads = threads
        guard let roles = ServerRoles(list: roles) else {
            throw ValidationError("--roles must be all, or a list of ingest,logic and/or push (ingest and logic together)")
        }
        configuration.roles = roles
        let bus = try busOptions.choice(environment: ProcessInfo.processInfo.environment)
        guard roles == .all || bus != .memory else {
            throw ValidationError("--roles \(self.roles) needs a shared bus: add --bus redis://HOST:PORT")
        }
        configuration.bus = bus
        if dataDir != nil, case .redis = bus {
            throw ValidationError("--data-dir keeps the single-process server's archive; in cluster mode Redis keeps history (see docs/CLUSTER.md)")
        }
        configuration.dataDirectory = dataDir
        configuration.busTimeout = try busOptions.timeout()
        (configuration.busMinReplicas, configuration.busReplicaTimeout) = try busOptions.replication()
        configuration.jwtSecret = (jwtSecret ?? ProcessInfo.processInfo.environment["DANMAKU_JWT_SECRET"]).flatMap { $0.isEmpty ? nil : $0 }
        if let secret = configuration.jwtSecret, secret.utf8.count < TokenAuthenticator.minimumSecretBytes {
            throw ValidationError("the JWT secret must be at least \(TokenAuthenticator.minimumSecretBytes) bytes (HS256)")
        }
        let takesPosts = roles.contains(.api) || viewerPosts
        if configuration.jwtSecret == nil, takesPosts, !allowAnonymousPosts, !Self.isLoopback(host) {
            throw ValidationError("""
                listening on \(host) without a JWT secret would let anyone post: set --jwt-secret (or DANMAKU_JWT_SECRET), \
                or pass --allow-anonymous-posts to run open on purpose
                """)
        }
        if let trustedProxies {
            guard let addresses = ClientAddress(trustedProxies: trustedProxies) else {
                throw ValidationError("--trusted-proxies must be a comma-separated list of addresses or CIDR networks, e.g. 10.0.0.0/8,::1")
            }
            configuration.ingest.clientAddress = addresses
        }
        guard batchWindowMilliseconds >= 0 else { throw ValidationError("--batch-window-ms must be 0 or more") }
        configuration.push.batchWindowMilliseconds = batchWindowMilliseconds
        guard maxSendsPerSecond.map({ $0 > 0 }) ?? true else { throw ValidationError("--max-sends-per-second must be positive") }
        configuration.push.maxSendsPerSecond = maxSendsPerSecond
        configuration.push.maxBatchWindowMilliseconds = maxBatchWindowMilliseconds
        configuration.push.compression = compression
        configuration.push.viewerPosts = viewerPosts
        configuration.push.maxInboundFrameBytes = maxFrameBytes
        configuration.push.maxUnwrittenBytes = maxUnwrittenBytes
        configuration.push.socketSendBufferBytes = socketSendBuffer
        configuration.push.inboundMessageRate = try rate(viewerMessageRate, "--viewer-message-rate")
        configuration.push.pingInterval = .seconds(Int64(pingInterval))
        configuration.push.idleTimeout = .seconds(Int64(idleTimeout))
        configuration.push.nodeName = nodeName
        if let budget = defaultDisplayPerSecond {
            guard (1...RoomSettings.maxDisplayPerSecond).contains(budget) else {
                throw ValidationError("--default-display-per-second must be between 1 and \(RoomSettings.maxDisplayPerSecond)")
            }
        }
        configuration.push.defaultDisplayPerSecond = defaultDisplayPerSecond
        guard maxRoomsPerConnection >= 1 else { throw ValidationError("--max-rooms-per-connection must be at least 1") }
        configuration.push.maxRoomsPerConnection = maxRoomsPerConnection
        configuration.ingest.maxBodyBytes = maxBodyBytes
        configuration.ingest.maxHeaderBytes = maxHeaderBytes
        configuration.ingest.idleTimeout = .seconds(Int64(httpIdleTimeout))
        configuration.ingest.maxConnectionsPerAddress = maxConnectionsPerAddress
        guard history > 0 else { throw ValidationError("--history must be at least 1") }
        guard roomIdleSeconds >= 0 else { throw ValidationError("--room-idle-seconds must be 0 (forever) or more") }
        guard maxRooms >= 10 else { throw ValidationError("--max-rooms must be at least 10") }
        configuration.roomIdleSeconds = roomIdleSeconds
        configuration.maxRooms = maxRooms
        configuration.logic.historyCapacity = history
        configuration.logic.maxTextLength = maxTextLength
        configuration.logic.userLimit = try rate(userRate, "--user-rate")
        configuration.logic.ipLimit = try rate(ipRate, "--ip-rate")
        configuration.logic.roomLimit = try rate(roomRate, "--room-rate")
        configuration.logic.readLimit = try rate(readRate, "--read-rate")
        configuration.logic.duplicateWindowSeconds = duplicateWindow
        guard (0...86_400).contains(recallSeconds) else { throw ValidationError("--recall-seconds must be 0...86400") }
        configuration.logic.recallSeconds = recallSeconds
        guard let policy = FilterPolicy(rawValue: filterPolicy) else {
            throw ValidationError("--filter-policy must be reject or mask")
        }
        configuration.logic.filterPolicy = policy
        if let words {
            let list = try String(contentsOfFile: words, encoding: .utf8)
            configuration.logic.words = SensitiveWordFilter.words(fromList: list)
        }
        return configuration
    }

    /// Whether `host` only listens on this machine (127.0.0.0/8, ::1, localhost).
    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || ["127.0.0.0/8", "::1"].contains { ClientAddress.Network($0)?.contains(host) == true }
    }

    private func rate(_ text: String, _ flag: String) throws -> RateLimit {
        guard let limit = RateLimit(parsing: text) else {
            throw ValidationError("\(flag) must look like RATE/BURST, e.g. 2/10")
        }
        return limit
    }
}
