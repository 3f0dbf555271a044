import DanmakuRedis
import DanmakuTestSupport
import Logging
import NIOCore
import NIOPosix
import Synchronization
import Testing

/// The RESP client against a real `redis-server`.
@Suite struct RedisClientTests {
    func withClient<T>(
        _ server: RedisServer, timeout: TimeAmount = .seconds(2),
        onMessage: (@Sendable (ByteBuffer, ByteBuffer) -> Void)? = nil,
        _ body: (RedisClient) async throws -> T
    ) async throws -> T {
        var logger = Logger(label: "redis-test")
        logger.logLevel = .critical
        let address = RedisAddress(host: "127.0.0.1", port: server.port)
        let client = RedisClient(
            address: address, eventLoop: MultiThreadedEventLoopGroup.singleton.next(), commandTimeout: timeout,
            logger: logger, onMessage: onMessage)
        client.start()
        do {
            try await client.waitForConnection()
            let result = try await body(client)
            await client.close()
            return result
        } catch {
            await client.close()
            throw error
        }
    }

    @Test func pipelinedCommandsAreAnsweredInOrder() async throws {
        try await RedisServer.with { server in
            try await withClient(server) { client in
                let futures = (1...2000).map { _ in client.send(RESPCommand("INCR", ["n"])) as EventLoopFuture<RESPValue> }
                var answers: [Int64] = []
                for future in futures { answers.append(try await future.get().integer ?? -1) }
                #expect(answers == Array(1...2000))
                let value: RESPValue = try await client.send(RESPCommand("GET", ["n"]))
                #expect(value.string == "2000")
                let missing: RESPValue = try await client.send(RESPCommand("GET", ["nothing"]))
                #expect(missing.isNull)
            }
        }
    }

    @Test func errorRepliesFailWithTheServersMessage() async throws {
        try await RedisServer.with { server in
            try await withClient(server) { client in
                _ = try await client.send(RESPCommand("SET", ["k", "text"])) as RESPValue
                await #expect(throws: RedisError.server("ERR value is not an integer or out of range")) {
                    _ = try await client.send(RESPCommand("INCR", ["k"])) as RESPValue
                }
                // The connection still works after an error reply.
                #expect((try await client.send(RESPCommand("PING")) as RESPValue) == .simpleString("PONG"))
            }
        }
    }

    @Test func aSlowAnswerTimesOutAndTheClientReconnects() async throws {
        try await RedisServer.with { server in
            try await withClient(server, timeout: .milliseconds(300)) { client in
                let started = ContinuousClock.now
                await #expect(throws: RedisError.timeout(command: "DEBUG")) {
                    _ = try await client.send(RESPCommand("DEBUG", ["SLEEP", "5"])) as RESPValue
                }
                #expect(ContinuousClock.now - started < .seconds(4), "timed out, not answered after the 5 s sleep")
                try await Task.sleep(for: .seconds(5))
                try await client.waitForConnection()
                #expect((try await client.send(RESPCommand("PING")) as RESPValue) == .simpleString("PONG"))
            }
        }
    }

    @Test func whileRedisIsDownCommandsFailAtOnceAndTheClientComesBack() async throws {
        try await RedisServer.with { server in
            // A long command timeout, so that failing "at once" is told apart from timing out even
            // on a loaded machine.
            try await withClient(server, timeout: .seconds(30)) { client in
                await server.stop()
                try await waitUntil { !client.isConnected }
                let started = ContinuousClock.now
                await #expect(throws: RedisError.self) { _ = try await client.send(RESPCommand("PING")) as RESPValue }
                #expect(ContinuousClock.now - started < .seconds(10), "failed at once, not after the 30 s command timeout")
                try await server.start()
                try await client.waitForConnection(timeout: .seconds(5))
                #expect((try await client.send(RESPCommand("PING")) as RESPValue) == .simpleString("PONG"))
            }
        }
    }

    @Test func shardedPubSubDeliversMessagesAndResubscribesAfterARestart() async throws {
        try await RedisServer.with { server in
            let received = Observed<[String]>([])
            let publisherLogger = Logger(label: "publisher")
            let publisher = RedisClient(
                address: RedisAddress(host: "127.0.0.1", port: server.port), eventLoop: MultiThreadedEventLoopGroup.singleton.next(),
                logger: publisherLogger)
            publisher.start()
            try await publisher.waitForConnection()
            let subscriber = RedisClient(
                address: RedisAddress(host: "127.0.0.1", port: server.port), eventLoop: MultiThreadedEventLoopGroup.singleton.next(),
                logger: publisherLogger,
                onMessage: { channel, payload in received.update { $0.append("\(String(buffer: channel))=\(String(buffer: payload))") } },
                onConnect: { connection in connection.send(RESPCommand("SSUBSCRIBE", ["room:{a}"])).map { _ in () } })
            subscriber.start()
            try await subscriber.waitForConnection()
            let delivered: RESPValue = try await publisher.send(RESPCommand("SPUBLISH", ["room:{a}", "one"]))
            #expect(delivered == .integer(1))
            try await received.wait { $0 == ["room:{a}=one"] }

            await server.stop()
            try await waitUntil { !subscriber.isConnected && !publisher.isConnected }
            try await server.start()
            try await subscriber.waitForConnection(timeout: .seconds(5))
            try await publisher.waitForConnection(timeout: .seconds(5))
            // SPUBLISH answers how many subscribers got it: 1 once the subscription is back.
            var receivers: Int64 = 0
            for _ in 0..<100 where receivers == 0 {
                receivers = (try await publisher.send(RESPCommand("SPUBLISH", ["room:{a}", "two"])) as RESPValue).integer ?? 0
                if receivers == 0 { try await Task.sleep(for: .milliseconds(50)) }
            }
            #expect(receivers == 1)
            try await received.wait { $0 == ["room:{a}=one", "room:{a}=two"] }
            await subscriber.close()
            await publisher.close()
        }
    }
}

/// Polls `condition` every 20 ms for up to 10 s.
func waitUntil(_ condition: () -> Bool) async throws {
    let deadline = ContinuousClock.now + .seconds(10)
    while !condition() {
        guard ContinuousClock.now < deadline else { throw TimedOut(description: "condition") }
        try await Task.sleep(for: .milliseconds(20))
    }
}
