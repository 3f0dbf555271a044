import DanmakuBus
import DanmakuCore
import DanmakuLogic
import NIOCore
import NIOEmbedded
import Synchronization
import Testing

/// A log whose next `failures` appends fail, as a store does while Redis or the disk is down.
///
/// With `storesAnyway`, a failing append stores the comment all the same and reports its outcome
/// unknown, as a Redis script that ran but whose answer was lost or late.
final class FlakyLog: CommentLog {
    let memory = MemoryBus(historyCapacity: 10)
    let failures: Mutex<Int>
    let storesAnyway: Bool

    init(failures: Int, storesAnyway: Bool = false) {
        self.failures = Mutex(failures)
        self.storesAnyway = storesAnyway
    }

    struct Down: Error {}

    func append(room: RoomID, unnumbered: ByteBuffer) async throws -> EncodedComment {
        let fail = failures.withLock { left in
            defer { left = max(0, left - 1) }
            return left > 0
        }
        guard fail else { return try await memory.append(room: room, unnumbered: unnumbered) }
        guard storesAnyway else { throw Down() }
        _ = try await memory.append(room: room, unnumbered: unnumbered)
        throw AppendOutcomeUnknown("the answer was lost")
    }

    func snapshot(room: RoomID, since: UInt64?, limit: Int, retracted: Bool, on eventLoop: any EventLoop) -> EventLoopFuture<HistorySnapshot> {
        memory.snapshot(room: room, since: since, limit: limit, retracted: retracted, on: eventLoop)
    }

    func comment(room: RoomID, id: String) async throws -> EncodedComment? {
        try await memory.comment(room: room, id: id)
    }

    func retract(room: RoomID, id: String, reason: RetractReason?) async throws -> UInt64? {
        try await memory.retract(room: room, id: id, reason: reason)
    }
}

@Suite struct StoreFailureTests {
    let room = RoomID("r1")!
    let author = CommentAuthor(id: "u1", name: "Ann")

    /// A post whose store may have run (its answer lost or late) keeps its place in the duplicate
    /// window: the client's retry is refused as a duplicate instead of stored a second time.
    @Test func aRetryOfAPostWhoseOutcomeIsUnknownIsNotStoredTwice() async throws {
        let log = FlakyLog(failures: 1, storesAnyway: true)
        let service = LogicTier(configuration: LogicConfiguration(), log: log, bus: log.memory)
        let request = CommentRequest(text: "said once")
        let failed = await service.posts.submit(room: room, request: request, author: author, clientAddress: "1.1.1.1")
        guard case .failure(let error) = failed else { Issue.record("the answer was lost, yet: \(failed)"); return }
        #expect(error.status == 503 && error.message.contains("may have been stored"))
        let retried = await service.posts.submit(room: room, request: request, author: author, clientAddress: "1.1.1.1")
        guard case .failure(let refused) = retried else { Issue.record("stored twice: \(retried)"); return }
        #expect(refused.code == "duplicate")
        let history = try await log.memory.snapshot(room: room, since: 0, limit: 10, on: EmbeddedEventLoop()).get()
        #expect(history.comments.count == 1)
        // Another text is a new post: only the duplicate mark was kept, not the rate limits.
        #expect((try? await service.posts.submit(room: room, request: CommentRequest(text: "new words"), author: author, clientAddress: "1.1.1.1").get()) != nil)
    }

    /// A post answered 503 charged nothing: its retry is not a duplicate, not in slow mode and
    /// not over a user, address or room limit that the failed try would have used up.
    @Test func aRetryAfterAStoreFailureIsAcceptedAsTheFirstTryWouldHaveBeen() async throws {
        var configuration = LogicConfiguration()
        configuration.userLimit = RateLimit(perSecond: 0.001, burst: 1)
        configuration.ipLimit = RateLimit(perSecond: 0.001, burst: 1)
        configuration.roomLimit = RateLimit(perSecond: 0.001, burst: 1)
        let log = FlakyLog(failures: 1)
        let moderation = MemoryModeration()
        try await moderation.update(RoomSettings(slowModeSeconds: 60, rate: "0.001/1"), room: room)
        let service = LogicTier(configuration: configuration, log: log, bus: log.memory, moderation: moderation)
        let request = CommentRequest(text: "first words")

        let failed = await service.posts.submit(room: room, request: request, author: author, clientAddress: "1.1.1.1")
        guard case .failure(let error) = failed else { Issue.record("the store was down, yet: \(failed)"); return }
        #expect(error.status == 503 && error.code == "bus_unavailable")
        #expect(!error.message.contains("Down"), "internal detail stays in the log: \(error.message)")

        let retried = await service.posts.submit(room: room, request: request, author: author, clientAddress: "1.1.1.1")
        #expect((try? retried.get().comment.seq) == 1, "\(retried)")

        // Now the same post really was accepted: a third try is refused as before.
        let again = await service.posts.submit(room: room, request: request, author: author, clientAddress: "1.1.1.1")
        guard case .failure(let refused) = again else { Issue.record("accepted twice"); return }
        #expect(refused.status == 429)
    }
}
