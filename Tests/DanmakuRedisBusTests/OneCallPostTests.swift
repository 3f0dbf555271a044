import DanmakuBus
import DanmakuCore
import DanmakuLogic
@testable import DanmakuRedisBus
import DanmakuTestSupport
import Foundation
import Logging
import DanmakuRedis
import NIOCore
import NIOPosix
import Testing

/// On Redis a post's admission (bans, styles, slow mode, the room's rate) and its append are one
/// script call (`RedisScripts.admitAndAppend`), with the answers two calls gave.
@Suite struct OneCallPostTests {
    let room = RoomID("lobby")!

    /// Posts `body` through `CommentPosting`, or with `onLoop` through `LoopPosting` (the way an
    /// HTTP post on a Redis node goes), which must then take it.
    func post(
        _ tier: LogicTier, _ body: CommentRequest, from address: String = "10.0.0.1", onLoop: Bool = false
    ) async -> Result<CommentReceipt, DanmakuError> {
        guard onLoop else { return await tier.posts.post(room: room, request: body, token: nil, clientAddress: address, idempotencyKey: nil) }
        let bytes = Array(try! WireCodec.encode(body).readableBytesView)
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        guard let posted = tier.loopPosts?.post(room: room, body: bytes, token: nil, clientAddress: address, idempotencyKey: nil, on: loop) else {
            return .failure(.busUnavailable("the loop declined a plain post"))
        }
        return try! await posted.get()
    }

    /// How many scripts the server has run (`EVALSHA` and `EVAL`).
    func scriptCalls(_ server: RedisServer) async throws -> Int {
        let stats = try await server.command(["INFO", "commandstats"])
        return ["cmdstat_evalsha:calls=", "cmdstat_eval:calls="].reduce(0) { total, marker in
            guard let range = stats.range(of: marker) else { return total }
            return total + (Int(stats[range.upperBound...].prefix { $0.isNumber }) ?? 0)
        }
    }

    @Test(arguments: [false, true]) func aPostIsOneScriptCallAndItsRefusalsAreTheStores(onLoop: Bool) async throws {
        try await RedisServer.with { server in
            try await RedisBusTests().withBus(server) { bus in
                var configuration = LogicConfiguration()
                configuration.userLimit = RateLimit(perSecond: 1000, burst: 1000)
                configuration.ipLimit = RateLimit(perSecond: 1000, burst: 1000)
                let moderation = RedisModeration(bus: bus)
                let tier = LogicTier(configuration: configuration, log: bus, bus: bus, moderation: moderation)
                // Loads the scripts' hashes, so that each call below is one EVALSHA.
                _ = try await post(tier, CommentRequest(text: "warm"), onLoop: onLoop).get()
                let before = try await scriptCalls(server)
                for index in 0..<20 {
                    let receipt = try await post(tier, CommentRequest(text: "hello \(index)"), from: "10.0.1.\(index)", onLoop: onLoop).get()
                    #expect(receipt.seq == UInt64(index + 2))
                }
                #expect(try await scriptCalls(server) - before == 20, "one script call a post")

                // Slow mode: the second post within it is refused and not stored.
                _ = try await moderation.update(RoomSettings.Change(slowModeSeconds: 60), room: room)
                _ = try await post(tier, CommentRequest(text: "first"), onLoop: onLoop).get()
                let slow = await post(tier, CommentRequest(text: "second"), onLoop: onLoop)
                #expect(slow.errorCode == "slow_mode")
                // A room that keeps styles for its staff refuses a red comment, and the same words
                // without the style are not a duplicate of it.
                _ = try await moderation.update(RoomSettings.Change(slowModeSeconds: 0, stylesFor: .staff), room: room)
                #expect(await post(tier, CommentRequest(text: "styled", color: "#ff0000"), from: "10.0.2.1", onLoop: onLoop).errorCode == "style_not_allowed")
                #expect(try await post(tier, CommentRequest(text: "styled"), from: "10.0.2.1", onLoop: onLoop).get().seq > 0)
                // A ban.
                let banned = AnonymousIdentity.author(forAddress: "10.0.3.1")
                try await moderation.ban(user: banned.id, room: room, seconds: 60)
                #expect(await post(tier, CommentRequest(text: "let me in"), from: "10.0.3.1", onLoop: onLoop).errorCode == "banned")

                let history = try await bus.snapshot(
                    room: room, since: 0, limit: 100, on: MultiThreadedEventLoopGroup.singleton.next()).get()
                let texts = try history.comments.map { try $0.decoded().text }
                #expect(texts.contains("first") && texts.contains("styled"))
                #expect(!texts.contains("second") && !texts.contains("let me in"), "a refused post is never stored")
                #expect(history.comments.map(\.seq) == Array(1...UInt64(history.comments.count)), "no seq taken by a refusal")
            }
        }
    }

    /// Moderation kept in another store than the log (or none in Redis) is asked on its own.
    @Test func moderationKeptElsewhereIsNotCombined() async throws {
        try await RedisServer.with { server in
            try await RedisBusTests().withBus(server) { bus in
                let tier = LogicTier(configuration: LogicConfiguration(), log: bus, bus: bus, moderation: MemoryModeration())
                #expect(RedisModeration(bus: bus).isKept(with: bus))
                #expect(!RedisModeration(bus: bus).isKept(with: MemoryBus(historyCapacity: 1)))
                let receipt = try await post(tier, CommentRequest(text: "hello")).get()
                #expect(receipt.seq == 1)
            }
        }
    }
}

/// A post on the connection's loop (`LoopPosting`): taken only where the store's one call is the
/// whole outcome, and giving back what it counted when that call fails.
@Suite struct LoopPostTests {
    let room = RoomID("lobby")!

    @Test func onlyAStoreThatAppendsInOneCallPostsOnTheLoop() async throws {
        try await RedisServer.with { server in
            try await RedisBusTests().withBus(server) { bus in
                #expect(LogicTier(configuration: LogicConfiguration(), log: bus, bus: bus, moderation: RedisModeration(bus: bus)).loopPosts != nil)
                // Moderation kept elsewhere is asked on its own: two steps, not one call.
                #expect(LogicTier(configuration: LogicConfiguration(), log: bus, bus: bus, moderation: MemoryModeration()).loopPosts == nil)
            }
            // With replicas to confirm, a comment they miss is withdrawn before the answer.
            try await RedisBusTests().withBus(server, minReplicas: 1) { bus in
                #expect(LogicTier(configuration: LogicConfiguration(), log: bus, bus: bus, moderation: RedisModeration(bus: bus)).loopPosts == nil)
            }
        }
        let memory = MemoryBus(historyCapacity: 10)
        let embedded = LogicTier(configuration: LogicConfiguration(), log: memory, bus: memory, moderation: MemoryModeration())
        #expect(embedded.loopPosts == nil && embedded.immediatePosts != nil)
    }

    @Test func aPostWhoseCallFailsIsAnswered503AndItsCountsGivenBack() async throws {
        try await RedisServer.with { server in
            try await RedisBusTests().withBus(server) { bus in
                var configuration = LogicConfiguration()
                // One post a user, for good: a second is refused unless the first was given back.
                configuration.userLimit = RateLimit(perSecond: 0.001, burst: 1)
                let tier = LogicTier(configuration: configuration, log: bus, bus: bus, moderation: RedisModeration(bus: bus))
                let posts = OneCallPostTests()
                await server.stop()
                // Posted once the bus knows: into a closing socket the outcome would be unknown
                // (its duplicate mark kept), which is not this test's case.
                let deadline = ContinuousClock.now + .seconds(10)
                while bus.isConnected, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
                let failed = await posts.post(tier, CommentRequest(text: "hello"), onLoop: true)
                #expect(failed.errorCode == "bus_unavailable")
                try await server.start()
                try await bus.waitForConnection()
                // The same words from the same user: neither the bucket nor the duplicate window
                // holds the failed post against them.
                let receipt = try await posts.post(tier, CommentRequest(text: "hello"), onLoop: true).get()
                #expect(receipt.seq == 1)
                #expect(await posts.post(tier, CommentRequest(text: "again"), onLoop: true).errorCode == "rate_limited")
            }
        }
    }

    @Test func aPostWhoseAnswerIsLostKeepsItsDuplicateMarkAndGivesItsBucketBack() async throws {
        try await RedisServer.with { server in
            try await RedisBusTests().withBus(server, commandTimeout: .milliseconds(300)) { bus in
                var configuration = LogicConfiguration()
                // Two posts a user, for good: one more than the lost post, if its token is given back.
                configuration.userLimit = RateLimit(perSecond: 0.001, burst: 2)
                let tier = LogicTier(configuration: configuration, log: bus, bus: bus, moderation: RedisModeration(bus: bus))
                let posts = OneCallPostTests()
                // Redis holds every client's commands far past the command timeout (300 ms): long
                // enough that a busy machine still posts inside the pause.
                let paused = ContinuousClock.now
                _ = try await server.command(["CLIENT", "PAUSE", "5000", "ALL"])
                let lost = await posts.post(tier, CommentRequest(text: "hello"), onLoop: true)
                guard case .failure(let error) = lost else {
                    Issue.record("the post was answered through the stall")
                    return
                }
                #expect(error.code == "bus_unavailable" && error.message.contains("may have been stored"))
                try await Task.sleep(until: paused + .milliseconds(5200))
                try await bus.waitForConnection()
                // Its token was given back: a new post of the same user is taken...
                #expect(try await posts.post(tier, CommentRequest(text: "something else"), onLoop: true).get().seq >= 1)
                // ...and it may have been stored: its retry is refused, never stored twice.
                #expect(await posts.post(tier, CommentRequest(text: "hello"), onLoop: true).errorCode == "duplicate")
            }
        }
    }

    @Test func commentsPostedOnSeveralLoopsArePublishedInTheOrderTheyWereNumbered() async throws {
        try await RedisServer.with { server in
            try await RedisBusTests().withBus(server) { bus in
                var configuration = LogicConfiguration()
                configuration.userLimit = RateLimit(perSecond: 100_000, burst: 100_000)
                configuration.ipLimit = RateLimit(perSecond: 100_000, burst: 100_000)
                configuration.roomLimit = RateLimit(perSecond: 100_000, burst: 100_000)
                let tier = LogicTier(configuration: configuration, log: bus, bus: bus, moderation: RedisModeration(bus: bus))
                // What the push nodes read: the room's channel, every line's seq in order.
                let published = Observed<[UInt64]>([])
                var logger = Logger(label: "order-test")
                logger.logLevel = .critical
                let channel = RedisKeys(room).channel
                let listener = RedisClient(
                    address: RedisAddress(host: "127.0.0.1", port: server.port), eventLoop: MultiThreadedEventLoopGroup.singleton.next(),
                    logger: logger,
                    onMessage: { _, payload in
                        let seqs = String(buffer: payload).split(separator: "\n").compactMap { line in
                            line.firstRange(of: "\"seq\":").flatMap { UInt64(line[$0.upperBound...].prefix { $0.isNumber }) }
                        }
                        published.update { $0 += seqs }
                    },
                    onConnect: { connection in connection.send(RESPCommand("SSUBSCRIBE", [RESPArgument(channel)])).map { _ in () } })
                listener.start()
                defer { Task { await listener.close() } }
                try await listener.waitForConnection()
                // Four loops post at once, each from its own addresses (so no post is a duplicate).
                let loops = MultiThreadedEventLoopGroup(numberOfThreads: 4)
                let body = Array(try WireCodec.encode(CommentRequest(text: "hello")).readableBytesView)
                var posts: [EventLoopFuture<Result<CommentReceipt, DanmakuError>>] = []
                for index in 0..<200 {
                    let loop = loops.next()
                    let post = try await loop.submit {
                        tier.loopPosts?.post(room: room, body: body, token: nil, clientAddress: "10.1.\(index / 250).\(index % 250)", idempotencyKey: nil, on: loop)
                    }.get()
                    posts.append(try #require(post))
                }
                for post in posts { _ = try await post.get().get() }
                try await published.wait { $0.count >= 200 }
                #expect(published.value == Array(1...200))
                try await loops.shutdownGracefully()
            }
        }
    }
}

extension Result where Failure == DanmakuError {
    /// The error's code, nil for a success.
    var errorCode: String? {
        if case .failure(let error) = self { return error.code }
        return nil
    }
}
