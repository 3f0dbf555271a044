import DanmakuBus
import DanmakuCore
import DanmakuLogic
import Foundation
import NIOCore
import Synchronization
import Testing

/// A post whose store checks and appends it in one step (`AppendingModeration`) gives back what
/// admitting it counted only when the store is known to have admitted it.
@Suite struct OneStepAdmissionTests {
    let room = RoomID("r1")!

    /// Moderation kept with `log`, whose one step answers as told: a thrown error, or else it
    /// appends to `log`.
    final class ScriptedStore: AppendingModeration {
        let memory = MemoryModeration()
        let log: MemoryBus
        let next = Mutex<[any Error]>([])
        let refunds = Mutex(0)

        init(log: MemoryBus) { self.log = log }

        func isKept(with log: any CommentLog) -> Bool { (log as? MemoryBus) === self.log }
        func admitAndAppend(user: String, room: RoomID, styled: Bool, unnumbered: ByteBuffer) async throws -> Result<EncodedComment, DanmakuError> {
            if let error = next.withLock({ $0.isEmpty ? nil : $0.removeFirst() }) { throw error }
            if let refused = memory.admitNow(user: user, room: room, styled: styled) { return .failure(refused) }
            return .success(log.appendNow(room: room, unnumbered: unnumbered))
        }
        func ban(user: String, room: RoomID, seconds: Int) async throws { try await memory.ban(user: user, room: room, seconds: seconds) }
        func unban(user: String, room: RoomID) async throws { try await memory.unban(user: user, room: room) }
        func settings(room: RoomID) async throws -> RoomSettings { try await memory.settings(room: room) }
        func update(_ change: RoomSettings.Change, room: RoomID) async throws -> RoomSettings { try await memory.update(change, room: room) }
        func admit(user: String, room: RoomID, styled: Bool) async throws -> DanmakuError? { memory.admitNow(user: user, room: room, styled: styled) }
        func ban(of user: String, room: RoomID) async throws -> DanmakuError? { try await memory.ban(of: user, room: room) }
        func refund(user: String, room: RoomID) async {
            refunds.withLock { $0 += 1 }
            await memory.refund(user: user, room: room)
        }
    }

    func post(_ tier: LogicTier, _ text: String) async -> Result<CommentReceipt, DanmakuError> {
        await tier.posts.post(room: room, request: CommentRequest(text: text), token: nil, clientAddress: "10.0.0.1", idempotencyKey: nil)
    }

    @Test func aFailedStepGivesBackOnlyWhatItKnowsWasCounted() async throws {
        var configuration = LogicConfiguration()
        configuration.userLimit = RateLimit(perSecond: 0.001, burst: 3)
        configuration.ipLimit = RateLimit(perSecond: 1000, burst: 1000)
        let bus = MemoryBus(historyCapacity: 100)
        let store = ScriptedStore(log: bus)
        let tier = LogicTier(configuration: configuration, log: bus, bus: bus, moderation: store)
        _ = try await store.update(RoomSettings.Change(slowModeSeconds: 0), room: room)

        // Unknown outcome: the store's marks stay, the rate limit is given back, the words stay a
        // duplicate (the post may be stored).
        store.next.withLock { $0 = [AppendOutcomeUnknown("timed out")] }
        #expect(await post(tier, "one").errorCode == "bus_unavailable")
        #expect(store.refunds.withLock { $0 } == 0)
        #expect(await post(tier, "one").errorCode == "duplicate")

        // Not run: nothing of the store's is given back; the same words may be posted again.
        store.next.withLock { $0 = [CancellationError()] }
        #expect(await post(tier, "two").errorCode == "bus_unavailable")
        #expect(store.refunds.withLock { $0 } == 0)

        // Admitted, then withdrawn: everything admitting it counted is given back.
        store.next.withLock { $0 = [AdmittedThenWithdrawn("0 of 1 replicas confirmed the comment in time")] }
        #expect(await post(tier, "three").errorCode == "bus_unavailable")
        #expect(store.refunds.withLock { $0 } == 1)

        // The rate limit was given back each time (of a burst of 3, only the duplicate refusal
        // kept its token): two posts still pass, the same words as the failed ones included.
        #expect(try await post(tier, "two").get().seq == 1)
        #expect(try await post(tier, "three").get().seq == 2)
        #expect(await post(tier, "four").errorCode == "rate_limited")
    }
}
