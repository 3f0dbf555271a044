import DanmakuBus
import DanmakuCore
import DanmakuLogic
import NIOCore
import Synchronization
import Testing

/// A log whose next `failures` appends fail, as a store does while Redis or the disk is down.
final class FlakyLog: CommentLog {
    let memory = MemoryBus(historyCapacity: 10)
    let failures: Mutex<Int>

    init(failures: Int) {
        self.failures = Mutex(failures)
    }

    struct Down: Error {}

    func append(room: RoomID, unnumbered: ByteBuffer) async throws -> EncodedComment {
        let fail = failures.withLock { left in
            defer { left = max(0, left - 1) }
            return left > 0
        }
        if fail { throw Down() }
        return try await memory.append(room: room, unnumbered: unnumbered)
    }

    func snapshot(room: RoomID, since: UInt64?, limit: Int, on eventLoop: any EventLoop) -> EventLoopFuture<HistorySnapshot> {
        memory.snapshot(room: room, since: since, limit: limit, on: eventLoop)
    }

    func retract(room: RoomID, id: String) async throws -> UInt64? {
        try await memory.retract(room: room, id: id)
    }
}

@Suite struct StoreFailureTests {
    let room = RoomID("r1")!
    let author = CommentAuthor(id: "u1", name: "Ann")

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
        let service = CommentService(configuration: configuration, log: log, bus: log.memory, moderation: moderation)
        let request = CommentRequest(text: "first words")

        let failed = await service.submit(room: room, request: request, author: author, clientAddress: "1.1.1.1")
        guard case .failure(let error) = failed else { Issue.record("the store was down, yet: \(failed)"); return }
        #expect(error.status == 503 && error.code == "bus_unavailable")
        #expect(!error.message.contains("Down"), "internal detail stays in the log: \(error.message)")

        let retried = await service.submit(room: room, request: request, author: author, clientAddress: "1.1.1.1")
        #expect((try? retried.get().comment.seq) == 1, "\(retried)")

        // Now the same post really was accepted: a third try is refused as before.
        let again = await service.submit(room: room, request: request, author: author, clientAddress: "1.1.1.1")
        guard case .failure(let refused) = again else { Issue.record("accepted twice"); return }
        #expect(refused.status == 429)
    }
}
