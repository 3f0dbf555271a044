import DanmakuBus
import DanmakuCore
import DanmakuLogic
import DanmakuTestSupport
import Foundation
import NIOCore
import NIOEmbedded
import Testing

/// Posting on the caller's thread (`ImmediatePosting`) answers as `CommentPosting` does, and
/// declines what it cannot answer at once.
@Suite struct ImmediatePostingTests {
    let rooms = [RoomID("r1")!, RoomID("r2")!]

    /// Tight limits that do not refill within a test, so that two runs of one sequence meet them
    /// at the same posts; a word list; a room with slow mode and styles for its staff.
    func makeTier() async throws -> (LogicTier, MemoryBus) {
        var configuration = LogicConfiguration()
        configuration.userLimit = RateLimit(perSecond: 0.001, burst: 12)
        configuration.ipLimit = RateLimit(perSecond: 0.001, burst: 30)
        configuration.roomLimit = RateLimit(perSecond: 0.001, burst: 40)
        configuration.words = ["bad"]
        let bus = MemoryBus(historyCapacity: 1000)
        let moderation = MemoryModeration()
        try await moderation.update(RoomSettings(slowModeSeconds: 60, stylesFor: .staff), room: rooms[1])
        return (LogicTier(configuration: configuration, log: bus, bus: bus, moderation: moderation), bus)
    }

    /// A seeded sequence of posts: repeated and blocked words, styles, pool flags, bad fields and
    /// bad JSON, from a few addresses to two rooms; each answered at once and through
    /// `CommentPosting` by twin tiers, with the same answers and the same history.
    @Test func itAnswersEveryPostAsCommentPostingDoes() async throws {
        let (atOnce, atOnceBus) = try await makeTier()
        let (throughTasks, tasksBus) = try await makeTier()
        let immediate = try #require(atOnce.immediatePosts)
        let texts = ["hello", "hello", "bad word", "  ", "hi \"there\"\n", String(repeating: "x", count: 500), "你好", "ok"]
        let extras = ["", ##","color":"#ff0000""##, #","mode":"top""#, #","size":"large""#, #","pool":true"#, #","color":"red""#]
        var random = SeededRandom(seed: 99)
        for index in 0..<400 {
            let room = rooms[Int(random.next() % 2)]
            let address = "10.0.0.\(random.next() % 4)"
            let text = texts[Int(random.next() % UInt64(texts.count))] + (random.next() % 3 == 0 ? " \(index % 7)" : "")
            var body = Array(("{\"text\":" + String(decoding: try JSONEncoder().encode(text), as: UTF8.self)
                + extras[Int(random.next() % UInt64(extras.count))] + "}").utf8)
            if random.next() % 20 == 0 { body = Array("{\"text\":".utf8) }
            let answered = try #require(immediate.post(room: room, body: body, token: nil, clientAddress: address, idempotencyKey: nil))
            let expected: Result<CommentReceipt, DanmakuError>
            switch CommentRequest.decode(from: body) {
            case .failure(let error): expected = .failure(error)
            case .success(let request):
                expected = await throughTasks.posts.post(room: room, request: request, token: nil, clientAddress: address, idempotencyKey: nil)
            }
            switch (answered, expected) {
            case (.success(let got), .success(let want)):
                #expect(got.seq == want.seq && got.room == want.room, "post \(index)")
            case (.failure(let got), .failure(let want)):
                #expect(got.code == want.code && got.status == want.status, "post \(index)")
            default:
                Issue.record("post \(index): \(answered) against \(expected)")
            }
        }
        for room in rooms {
            let got = try await atOnceBus.snapshot(room: room, since: 0, limit: 1000, on: EmbeddedEventLoop()).get().comments
            let want = try await tasksBus.snapshot(room: room, since: 0, limit: 1000, on: EmbeddedEventLoop()).get().comments
            #expect(got.count == want.count)
            for (stored, twin) in zip(got, want) {
                var (a, b) = (try stored.decoded(), try twin.decoded())
                (a.id, a.ts, b.id, b.ts) = ("", 0, "", 0)
                #expect(a == b)
            }
        }
        #expect(try await atOnceBus.snapshot(room: rooms[0], since: 0, limit: 1000, on: EmbeddedEventLoop()).get().comments.count > 5)
    }

    /// What needs a store, an actor or a trace is left to `CommentPosting`: a key, a node whose log
    /// waits (nil parts), an authenticator that cannot answer at once.
    @Test func itDeclinesWhatItCannotAnswerAtOnce() async throws {
        let (tier, bus) = try await makeTier()
        let immediate = try #require(tier.immediatePosts)
        let body = Array(#"{"text":"hello"}"#.utf8)
        let key = try #require(try IdempotencyKey.parse("k-1").get())
        #expect(immediate.post(room: rooms[0], body: body, token: nil, clientAddress: "1.1.1.1", idempotencyKey: key) == nil)
        #expect(try await bus.snapshot(room: rooms[0], since: 0, limit: 10, on: EmbeddedEventLoop()).get().comments.isEmpty, "nothing stored")

        let waiting = HistoryReadCountingLog()
        #expect(LogicTier(configuration: LogicConfiguration(), log: waiting, bus: waiting.memory).immediatePosts == nil)

        // A node whose authenticator never answers at once (a token's check) does not try.
        #expect(LogicTier(configuration: LogicConfiguration(), log: bus, bus: bus, authenticator: AsksAStore()).immediatePosts == nil)
        // One that answers at once but not this time (a salt to read again) declines the post.
        let refreshing = LogicTier(configuration: LogicConfiguration(), log: bus, bus: bus, authenticator: AsksAStore(answersAtOnce: true))
        let declined = try #require(refreshing.immediatePosts).post(room: rooms[0], body: body, token: nil, clientAddress: "1.1.1.1", idempotencyKey: nil)
        #expect(declined == nil)
        #expect(try await bus.snapshot(room: rooms[0], since: 0, limit: 10, on: EmbeddedEventLoop()).get().comments.isEmpty, "nothing stored")
    }

    /// An authenticator that must ask something else (as a token's check does).
    struct AsksAStore: PostAuthenticator {
        var answersAtOnce = false
        func author(token: String?, room: RoomID, clientAddress: String) async -> Result<CommentAuthor, DanmakuError> {
            .success(CommentAuthor(id: "u1", name: "Ann"))
        }
        func moderator(token: String?, room: RoomID?) async -> Result<CommentAuthor, DanmakuError> { .failure(.notAModerator) }
    }
}
