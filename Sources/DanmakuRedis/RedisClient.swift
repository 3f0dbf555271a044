// Danmaku — a live-stream bullet-comment service.

import Logging
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

/// One live connection to Redis, for sending commands on it directly.
public struct RedisConnection: Sendable {
    let channel: any Channel
    /// The loop the connection runs on.
    public var eventLoop: any EventLoop { channel.eventLoop }
    let commandTimeout: TimeAmount

    /// Sends `command` and completes with its answer (an error reply fails the future).
    public func send(_ command: RESPCommand) -> EventLoopFuture<RESPValue> {
        let promise = channel.eventLoop.makePromise(of: RESPValue.self)
        let request = RedisRequest(command: command, promise: promise, deadline: .now() + commandTimeout + command.extraTime)
        // A write that never reached the handler (the channel closed first) must still fail the promise.
        channel.writeAndFlush(request).whenFailure { promise.fail($0) }
        return promise.futureResult
    }
}

/// A connection to one Redis server that is made again whenever it is lost.
///
/// Commands are pipelined on the one connection. While it is down they fail at once with
/// `RedisError.unavailable` instead of waiting: callers answer their own clients quickly, and
/// nothing piles up in memory. Reconnecting backs off from 50 ms to 1 s. Each new connection logs
/// in first (`AUTH`, `SELECT`, from the address), then `onConnect` runs on it before it takes
/// commands (re-subscribing, for a subscriber). A refusal (a wrong password, a user without a
/// command it needs) is not retried: the client stops, and `waitForConnection` says why.
public final class RedisClient: Sendable {
    /// The server.
    public let address: RedisAddress
    /// How long a command may wait for its answer.
    public let commandTimeout: TimeAmount
    /// The loop the connection runs on.
    public let eventLoop: any EventLoop
    private let logger: Logger
    private let onMessage: (@Sendable (ByteBuffer, ByteBuffer) -> Void)?
    private let onUnsubscribed: (@Sendable (ByteBuffer) -> Void)?
    private let onConnect: (@Sendable (RedisConnection) -> EventLoopFuture<Void>)?

    private struct State {
        var connection: RedisConnection?
        var backoff = RedisClient.firstBackoff
        var closed = false
        var lastError = "not connected yet"
        var wasConnected = false
        /// Why the server refused this client, once it has: no more attempts.
        var refusal: RedisError?
    }

    private let state = Mutex(State())
    private static let firstBackoff = TimeAmount.milliseconds(50)
    private static let maxBackoff = TimeAmount.seconds(1)

    /// - Parameters:
    ///   - onMessage: receives pub/sub messages (channel, payload) from this connection.
    ///   - onUnsubscribed: receives the shard channels the server unsubscribed this connection from
    ///     by itself (their slot moved to another node of the cluster).
    ///   - onConnect: runs on each new connection before it is used; a failure drops it.
    public init(
        address: RedisAddress, eventLoop: any EventLoop, commandTimeout: TimeAmount = .seconds(2), logger: Logger,
        onMessage: (@Sendable (ByteBuffer, ByteBuffer) -> Void)? = nil,
        onUnsubscribed: (@Sendable (ByteBuffer) -> Void)? = nil,
        onConnect: (@Sendable (RedisConnection) -> EventLoopFuture<Void>)? = nil
    ) {
        self.onUnsubscribed = onUnsubscribed
        self.address = address
        self.eventLoop = eventLoop
        self.commandTimeout = commandTimeout
        self.logger = logger
        self.onMessage = onMessage
        self.onConnect = onConnect
    }

    /// Starts connecting (and reconnecting whenever the connection is lost).
    public func start() {
        connect()
    }

    /// Whether commands can be sent now.
    public var isConnected: Bool { state.withLock { $0.connection != nil } }

    /// The connection commands go on now, nil while there is none: for commands that must follow
    /// each other on one connection (`ASKING` before its command, `WAIT` after a write).
    public var connection: RedisConnection? { state.withLock { $0.connection } }

    /// Why the server refused this client, if it has (it then no longer tries).
    public var refusal: RedisError? { state.withLock { $0.refusal } }

    /// Waits until connected or `timeout` passes; throws `unavailable` on timeout, and the
    /// refusal at once when the server refused this client.
    public func waitForConnection(timeout: Duration = .seconds(5)) async throws {
        let clock = ContinuousClock()
        let end = clock.now + timeout
        while !isConnected {
            if let refusal { throw refusal }
            guard clock.now < end else { throw RedisError.unavailable(state.withLock { $0.lastError }) }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Sends `command`; fails at once with `unavailable` while not connected.
    public func send(_ command: RESPCommand) -> EventLoopFuture<RESPValue> {
        let (connection, why) = state.withLock { ($0.connection, $0.lastError) }
        guard let connection else { return eventLoop.makeFailedFuture(RedisError.unavailable(why)) }
        return connection.send(command)
    }

    /// Sends `command` and waits for its answer.
    public func send(_ command: RESPCommand) async throws -> RESPValue {
        try await send(command).get()
    }

    /// Closes the connection and stops reconnecting.
    public func close() async {
        try? await closing()?.channel.closeFuture.get()
    }

    /// `close()` without waiting for the socket to close: for connections retired while others
    /// serve (a node that left the cluster), closed on their loop with nothing left running.
    public func closeSoon() {
        _ = closing()
    }

    /// Stops reconnecting and starts closing the connection; the connection, if there was one.
    private func closing() -> RedisConnection? {
        let connection = state.withLock { state -> RedisConnection? in
            state.closed = true
            defer { state.connection = nil }
            return state.connection
        }
        connection?.channel.close(promise: nil)
        return connection
    }

    // MARK: Connecting

    private func connect() {
        guard !state.withLock({ $0.closed }) else { return }
        let onMessage = onMessage
        let onUnsubscribed = onUnsubscribed
        var tls: NIOSSLContext?
        if let settings = address.tls {
            do {
                tls = try settings.makeContext()
            } catch {
                return refuse("TLS settings: \(error)")
            }
        }
        // A name for the server's certificate; an address is checked against its IP entries.
        let serverName = SocketAddressKind.isIPAddress(address.host) ? nil : address.host
        let handshake = eventLoop.makePromise(of: Void.self)
        ClientBootstrap(group: eventLoop)
            .connectTimeout(.seconds(2))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { [tls] channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: tls, serverHostname: serverName))
                        try channel.pipeline.syncOperations.addHandler(TLSHandshakeWatcher(handshake: handshake))
                    } else {
                        handshake.succeed()
                    }
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(RESPDecoder()))
                    try channel.pipeline.syncOperations.addHandler(RedisCommandHandler(onMessage: onMessage, onUnsubscribed: onUnsubscribed))
                }
            }
            .connect(host: address.host, port: address.port)
            .whenComplete { [self] result in
                switch result {
                case .success(let channel):
                    handshake.futureResult.whenComplete { [self] outcome in
                        switch outcome {
                        case .success:
                            prepare(RedisConnection(channel: channel, commandTimeout: commandTimeout))
                        case .failure(let error as NIOSSLError):
                            // The server's certificate is not one these settings trust: asking again will not change it.
                            channel.close(promise: nil)
                            refuse("TLS handshake failed: \(error)")
                        case .failure(let error):
                            channel.close(promise: nil)
                            retry(after: error)
                        }
                    }
                case .failure(let error):
                    handshake.fail(error)
                    retry(after: error)
                }
            }
    }

    /// Stops for good: the server refused this client, or the client cannot be set up to talk to it.
    private func refuse(_ why: String) {
        let refusal = RedisError.refused(why)
        state.withLock {
            $0.refusal = refusal
            $0.lastError = "\(refusal)"
            $0.closed = true
        }
        logger.error("redis refused this client; not retrying", metadata: ["address": "\(address)", "reason": "\(why)"])
    }

    /// Logs in, runs `onConnect`, then opens the connection to commands.
    private func prepare(_ connection: RedisConnection) {
        connection.channel.closeFuture.whenComplete { [self] _ in lost(connection) }
        let onConnect = onConnect
        let ready = logIn(connection).flatMap { [eventLoop] in
            onConnect?(connection) ?? eventLoop.makeSucceededVoidFuture()
        }
        ready.whenComplete { [self] result in
            switch result {
            case .success:
                let (reconnected, closed) = state.withLock { state -> (Bool, Bool) in
                    guard !state.closed, connection.channel.isActive else { return (false, true) }
                    state.connection = connection
                    state.backoff = Self.firstBackoff
                    defer { state.wasConnected = true }
                    return (state.wasConnected, false)
                }
                if closed {
                    connection.channel.close(promise: nil)
                } else {
                    logger.info(reconnected ? "redis reconnected" : "redis connected", metadata: ["address": "\(address)"])
                }
            case .failure(RedisError.server(let message)) where RedisError.isRefusal(message):
                // Asking again would get the same answer (and fill the server's log with it).
                refuse(message)
                connection.channel.close(promise: nil)
            case .failure(let error):
                state.withLock { $0.lastError = "\(error)" }
                connection.channel.close(promise: nil)
            }
        }
    }

    /// `AUTH` (with the address's user and password) and `SELECT` (its database), when set.
    private func logIn(_ connection: RedisConnection) -> EventLoopFuture<Void> {
        var steps: [RESPCommand] = []
        if let password = address.password {
            steps.append(RESPCommand("AUTH", (address.username.map { [RESPArgument($0)] } ?? []) + [RESPArgument(password)]))
        }
        if address.database != 0 { steps.append(RESPCommand("SELECT", [RESPArgument(String(address.database))])) }
        var done = eventLoop.makeSucceededVoidFuture()
        for step in steps {
            done = done.flatMap { connection.send(step).map { _ in () } }
        }
        return done
    }

    private func lost(_ connection: RedisConnection) {
        let (wasCurrent, closed) = state.withLock { state -> (Bool, Bool) in
            let current = state.connection?.channel === connection.channel
            if current {
                state.connection = nil
                state.lastError = "connection to \(address) lost"
            }
            return (current, state.closed)
        }
        guard !closed else { return }
        if wasCurrent { logger.warning("redis connection lost; reconnecting", metadata: ["address": "\(address)"]) }
        scheduleReconnect()
    }

    private func retry(after error: any Error) {
        state.withLock { $0.lastError = "cannot connect to \(address): \(error)" }
        scheduleReconnect()
    }

    private func scheduleReconnect() {
        let delay = state.withLock { state -> TimeAmount? in
            guard !state.closed else { return nil }
            let delay = state.backoff
            state.backoff = min(.nanoseconds(state.backoff.nanoseconds * 2), Self.maxBackoff)
            return delay
        }
        guard let delay else { return }
        eventLoop.scheduleTask(in: delay) { [self] in connect() }
    }
}

/// Whether a host is written as an IP address rather than a name.
enum SocketAddressKind {
    static func isIPAddress(_ host: String) -> Bool {
        (try? SocketAddress(ipAddress: host, port: 0)) != nil
    }
}
