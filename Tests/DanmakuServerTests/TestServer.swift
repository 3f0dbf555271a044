import DanmakuCore
import DanmakuLogic
import DanmakuServer
import Logging
import ServiceLifecycle

/// Starts a real server on an ephemeral port for the duration of `body`.
///
/// Rate limits are opened wide unless a test narrows them: most tests post many comments from
/// one address and are about something else.
func withServer<T>(
    _ adjust: (inout ServerConfiguration) -> Void = { _ in },
    _ body: (DanmakuServer, Int) async throws -> T
) async throws -> T {
    var configuration = ServerConfiguration()
    configuration.port = 0
    configuration.threads = 2
    configuration.logic.userLimit = RateLimit(perSecond: 100_000, burst: 100_000)
    configuration.logic.ipLimit = RateLimit(perSecond: 100_000, burst: 100_000)
    configuration.logic.roomLimit = RateLimit(perSecond: 100_000, burst: 100_000)
    configuration.logic.readLimit = RateLimit(perSecond: 100_000, burst: 100_000)
    configuration.logic.duplicateWindowSeconds = 0
    configuration.push.nodeName = "test"
    adjust(&configuration)
    var logger = Logger(label: "danmaku-test")
    logger.logLevel = .warning
    let server = DanmakuServer(configuration: configuration, logger: logger)
    // Started and stopped through a ServiceGroup, as `danmaku serve` runs it.
    let (ports, listening) = AsyncStream.makeStream(of: Int.self)
    let group = ServiceGroup(
        services: [DanmakuService(server: server) { port in
            listening.yield(port)
            listening.finish()
        }],
        gracefulShutdownSignals: [], cancellationSignals: [], logger: logger)
    return try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask {
            // A server that fails to start ends the wait for its port too.
            defer { listening.finish() }
            try await group.run()
        }
        var started = ports.makeAsyncIterator()
        guard let port = await started.next() else {
            try await tasks.waitForAll()
            throw ServerDidNotStart()
        }
        do {
            let result = try await body(server, port)
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            return result
        } catch {
            await group.triggerGracefulShutdown()
            try? await tasks.waitForAll()
            throw error
        }
    }
}

/// The server's group ended before it listened, without an error.
struct ServerDidNotStart: Error {}
