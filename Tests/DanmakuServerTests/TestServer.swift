import DanmakuCore
import DanmakuLogic
import DanmakuServer
import Logging

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
    try await server.start()
    do {
        let result = try await body(server, server.port)
        await server.shutdown()
        return result
    } catch {
        await server.shutdown()
        throw error
    }
}
