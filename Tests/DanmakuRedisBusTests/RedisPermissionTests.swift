import DanmakuRedis
import DanmakuRedisBus
import DanmakuTestSupport
import Logging
import NIOCore
import NIOPosix
import Testing

/// An ACL user that lacks a command the bus needs is a clear error naming the command, at once.
@Suite struct RedisPermissionTests {
    @Test func aUserWithoutTheScriptingCommandsIsToldWhichCommandIsMissing() async throws {
        try await RedisServer.with { server in
            // Reads and writes, but no scripts: the bus loads its scripts on every connection.
            _ = try await server.command(["ACL", "SETUSER", "reader", "on", ">pw", "~*", "&*", "+@all", "-@scripting"])
            var logger = Logger(label: "bus-acl-test")
            logger.logLevel = .critical
            let bus = RedisBus(
                address: RedisAddress(host: "127.0.0.1", port: server.port, username: "reader", password: "pw"),
                eventLoop: MultiThreadedEventLoopGroup.singleton.next(), historyCapacity: 10, logger: logger)
            bus.start()
            do {
                try await bus.waitForConnection(timeout: .seconds(5))
                Issue.record("a user without SCRIPT LOAD connected")
            } catch let error as RedisError {
                #expect(error.isRefusal)
                #expect("\(error)".contains("NOPERM") && "\(error)".lowercased().contains("script"), "\(error)")
            }
            await bus.shutdown()
        }
    }
}
