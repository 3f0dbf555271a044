// Danmaku — a live-stream bullet-comment service.

import ArgumentParser
import DanmakuAuth
import DanmakuBus
import DanmakuCore
import DanmakuIngest
import DanmakuLogic
import DanmakuRedisBus
import DanmakuServer
import Foundation
import NIOCore

extension ServeOptions {
    /// The server configuration these options describe, or a `ValidationError` naming the flag.
    func makeConfiguration() throws -> ServerConfiguration {
        var configuration = ServerConfiguration()
        configuration.host = host
        configuration.port = port
        configuration.advertisedURL = try advertisedURL()
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
        guard let header = ClientAddress.Header(rawValue: clientAddressHeader.lowercased()) else {
            throw ValidationError("--client-address-header must be one of \(ClientAddress.Header.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard let addresses = ClientAddress(trustedProxies: trustedProxies ?? "", header: header) else {
            throw ValidationError("--trusted-proxies must be a comma-separated list of addresses or CIDR networks, e.g. 10.0.0.0/8,::1")
        }
        configuration.ingest.clientAddress = addresses
        configuration.push.batchWindowMilliseconds = try bounded(batchWindowMilliseconds, 0...Self.maxWindowMilliseconds, "--batch-window-ms")
        guard maxSendsPerSecond.map({ $0 > 0 }) ?? true else { throw ValidationError("--max-sends-per-second must be positive") }
        configuration.push.maxSendsPerSecond = maxSendsPerSecond
        configuration.push.maxBatchWindowMilliseconds = try bounded(maxBatchWindowMilliseconds, 0...Self.maxWindowMilliseconds, "--max-batch-window-ms")
        configuration.push.maxDelayMilliseconds = try bounded(maxDelayMilliseconds, 0...Self.maxWindowMilliseconds, "--max-delay-ms")
        configuration.push.compression = compression
        configuration.push.viewerPosts = viewerPosts
        configuration.push.maxInboundFrameBytes = maxFrameBytes
        configuration.push.maxUnwrittenBytes = maxUnwrittenBytes
        configuration.push.socketSendBufferBytes = socketSendBuffer
        configuration.push.inboundMessageRate = try rate(viewerMessageRate, "--viewer-message-rate")
        configuration.push.pingInterval = .seconds(Int64(try bounded(pingInterval, 1...Self.maxTimeoutSeconds, "--ping-interval")))
        configuration.push.idleTimeout = .seconds(Int64(try bounded(idleTimeout, 1...Self.maxTimeoutSeconds, "--idle-timeout")))
        configuration.push.nodeName = nodeName
        if let budget = defaultDisplayPerSecond {
            guard (1...RoomSettings.maxDisplayPerSecond).contains(budget) else {
                throw ValidationError("--default-display-per-second must be between 1 and \(RoomSettings.maxDisplayPerSecond)")
            }
        }
        configuration.push.defaultDisplayPerSecond = defaultDisplayPerSecond
        configuration.push.mergeRepeats = mergeRepeats
        guard maxRoomsPerConnection >= 1 else { throw ValidationError("--max-rooms-per-connection must be at least 1") }
        configuration.push.maxRoomsPerConnection = maxRoomsPerConnection
        configuration.ingest.maxBodyBytes = maxBodyBytes
        configuration.ingest.maxHeaderBytes = maxHeaderBytes
        configuration.ingest.idleTimeout = .seconds(Int64(try bounded(httpIdleTimeout, 1...Self.maxTimeoutSeconds, "--http-idle-timeout")))
        configuration.ingest.maxConnectionsPerAddress = maxConnectionsPerAddress
        // Never above what the open-files limit allows: a process out of descriptors is ended by
        // libdispatch (see `ConnectionLimiter`).
        configuration.ingest.maxConnections = try maxConnections.map {
            try bounded($0, 1...ConnectionLimiter.connectionsTheDescriptorLimitAllows(), "--max-connections (the open-files limit less 256)")
        }
        guard history > 0 else { throw ValidationError("--history must be at least 1") }
        guard (0...Self.maxRoomIdleSeconds).contains(roomIdleSeconds) else {
            throw ValidationError("--room-idle-seconds must be 0 (forever) to \(Self.maxRoomIdleSeconds)")
        }
        guard maxRooms >= 10 else { throw ValidationError("--max-rooms must be at least 10") }
        configuration.roomIdleSeconds = roomIdleSeconds
        configuration.maxRooms = maxRooms
        configuration.logic.historyCapacity = history
        configuration.logic.maxTextLength = maxTextLength
        configuration.logic.userLimit = try rate(userRate, "--user-rate")
        configuration.logic.ipLimit = try rate(ipRate, "--ip-rate")
        configuration.logic.roomLimit = try rate(roomRate, "--room-rate")
        configuration.logic.readLimit = try rate(readRate, "--read-rate")
        guard (0...Double(Self.maxTimeoutSeconds)).contains(duplicateWindow) else {
            throw ValidationError("--duplicate-window must be 0...\(Self.maxTimeoutSeconds)")
        }
        configuration.logic.duplicateWindowSeconds = duplicateWindow
        guard (0...86_400).contains(recallSeconds) else { throw ValidationError("--recall-seconds must be 0...86400") }
        configuration.logic.recallSeconds = recallSeconds
        guard videoSegmentCap > 0 else { throw ValidationError("--video-segment-cap must be positive") }
        configuration.logic.videoSegmentCap = videoSegmentCap
        guard maxVideoComments > 0 else { throw ValidationError("--max-video-comments must be positive") }
        configuration.logic.maxVideoComments = maxVideoComments
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

    /// The longest timeout, ping interval or duplicate window a flag may set: a day. Durations are
    /// bounded where they enter, so that turning them into a `TimeAmount` (nanoseconds in an
    /// `Int64`) cannot overflow.
    static let maxTimeoutSeconds = 86_400
    /// The widest batch window: a minute.
    static let maxWindowMilliseconds = 60_000
    /// The longest a room may stay idle before it is forgotten: a year.
    static let maxRoomIdleSeconds = 365 * 86_400

    /// `--advertise-url`, checked: an http(s) URL with a host and nothing past the path, without
    /// its trailing slash (`/metrics` is added to it).
    private func advertisedURL() throws -> String? {
        guard let text = advertiseURL else { return nil }
        guard NodeCard.isBaseURL(text) else {
            throw ValidationError("--advertise-url must be an http:// or https:// URL such as http://10.0.0.5:7000")
        }
        var trimmed = Substring(text)
        while trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        return String(trimmed)
    }

    /// `value` when `range` holds it, else a `ValidationError` naming `flag` and the range.
    private func bounded(_ value: Int, _ range: ClosedRange<Int>, _ flag: String) throws -> Int {
        guard range.contains(value) else { throw ValidationError("\(flag) must be \(range.lowerBound)...\(range.upperBound)") }
        return value
    }

    private func rate(_ text: String, _ flag: String) throws -> RateLimit {
        guard let limit = RateLimit(parsing: text) else {
            throw ValidationError(
                "\(flag) must look like RATE/BURST, e.g. 2/10: a rate from \(RateLimit.minPerSecond) to \(RateLimit.maxPerSecond)/s "
                    + "and a burst from 1 to \(RateLimit.burstRange.upperBound)")
        }
        return limit
    }
}
