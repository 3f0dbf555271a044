import DanmakuBus
import DanmakuCore
import DanmakuLogic
@testable import DanmakuRedisBus
import DanmakuTestSupport
import Foundation
import NIOPosix
import Testing

/// On Redis a post's admission (bans, styles, slow mode, the room's rate) and its append are one
/// script call (`RedisScripts.admitAndAppend`), with the answers two calls gave.
@Suite struct OneCallPostTests {
    let room = RoomID("lobby")!

    func post(_ tier: LogicTier, _ body: CommentRequest, from address: String = "10.0.0.1") async -> Result<CommentReceipt, DanmakuError> {
        await tier.posts.post(room: room, request: body, token: nil, clientAddress: address, idempotencyKey: nil)
    }

    /// How many scripts the server has run (`EVALSHA` and `EVAL`).
    func scriptCalls(_ server: RedisServer) async throws -> Int {
        let stats = try await server.command(["INFO", "commandstats"])
        return ["cmdstat_evalsha:calls=", "cmdstat_eval:calls="].reduce(0) { total, marker in
            guard let range = stats.range(of: marker) else { return total }
            return total + (Int(stats[range.upperBound...].prefix { $0.isNumber }) ?? 0)
        }
    }

    @Test func aPostIsOneScriptCallAndItsRefusalsAreTheStores() async throws {
        try await RedisServer.with { server in
            try await RedisBusTests().withBus(server) { bus in
                var configuration = LogicConfiguration()
                configuration.userLimit = RateLimit(perSecond: 1000, burst: 1000)
                configuration.ipLimit = RateLimit(perSecond: 1000, burst: 1000)
                let moderation = RedisModeration(bus: bus)
                let tier = LogicTier(configuration: configuration, log: bus, bus: bus, moderation: moderation)
                // Loads the scripts' hashes, so that each call below is one EVALSHA.
                _ = try await post(tier, CommentRequest(text: "warm")).get()
                let before = try await scriptCalls(server)
                for index in 0..<20 {
                    let receipt = try await post(tier, CommentRequest(text: "hello \(index)"), from: "10.0.1.\(index)").get()
                    #expect(receipt.seq == UInt64(index + 2))
                }
                #expect(try await scriptCalls(server) - before == 20, "one script call a post")

                // Slow mode: the second post within it is refused and not stored.
                _ = try await moderation.update(RoomSettings.Change(slowModeSeconds: 60), room: room)
                _ = try await post(tier, CommentRequest(text: "first")).get()
                let slow = await post(tier, CommentRequest(text: "second"))
                #expect(slow.errorCode == "slow_mode")
                // A room that keeps styles for its staff refuses a red comment, and the same words
                // without the style are not a duplicate of it.
                _ = try await moderation.update(RoomSettings.Change(slowModeSeconds: 0, stylesFor: .staff), room: room)
                #expect(await post(tier, CommentRequest(text: "styled", color: "#ff0000"), from: "10.0.2.1").errorCode == "style_not_allowed")
                #expect(try await post(tier, CommentRequest(text: "styled"), from: "10.0.2.1").get().seq > 0)
                // A ban.
                let banned = AnonymousIdentity.author(forAddress: "10.0.3.1")
                try await moderation.ban(user: banned.id, room: room, seconds: 60)
                #expect(await post(tier, CommentRequest(text: "let me in"), from: "10.0.3.1").errorCode == "banned")

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

extension Result where Failure == DanmakuError {
    /// The error's code, nil for a success.
    fileprivate var errorCode: String? {
        if case .failure(let error) = self { return error.code }
        return nil
    }
}
