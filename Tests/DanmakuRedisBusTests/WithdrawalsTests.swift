@testable import DanmakuRedisBus
import DanmakuCore
import Logging
import NIOCore
import Synchronization
import Testing

/// Withdrawals of unconfirmed comments: retried by `run()` until done; a room is blocked only
/// while one of its comments is still to be withdrawn, and never for good.
@Suite struct WithdrawalsTests {
    static func comment(_ seq: UInt64, room: String = "w") -> EncodedComment {
        EncodedComment(numbering: ByteBuffer(string: #"{"id":"c\#(seq)","text":"x"}"#), seq: seq, room: RoomID(room)!)
    }

    /// Fails `failures` times per comment, then succeeds.
    final class FlakyRedis: Sendable {
        let failures: Int
        let attempts = Mutex<[UInt64: Int]>([:])
        init(failures: Int) { self.failures = failures }
        @Sendable func attempt(_ comment: EncodedComment) async -> Bool {
            attempts.withLock { counts in
                counts[comment.seq, default: 0] += 1
                return counts[comment.seq]! > failures
            }
        }
    }

    @Test func aWithdrawalQueuedBeforeRunIsRetriedAndUnblocksItsRoom() async throws {
        let withdrawals = Withdrawals(logger: Logger(label: "test"))
        let redis = FlakyRedis(failures: 2)
        await withdrawals.withdraw(Self.comment(1), attempt: redis.attempt)
        #expect(withdrawals.arePending(in: RoomID("w")!), "the room waits for it")
        #expect(!withdrawals.arePending(in: RoomID("other")!))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await withdrawals.run(attempt: redis.attempt) }
            // The wait ends as soon as it is done (about 0.5 s); a machine paused by another test's crash report once held it past 5 s.
            let deadline = ContinuousClock.now + .seconds(30)
            while withdrawals.arePending(in: RoomID("w")!), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
            #expect(!withdrawals.arePending(in: RoomID("w")!), "withdrawn by a retry")
            #expect(redis.attempts.withLock { $0[1] } == 3)
            withdrawals.stop()
            try await group.waitForAll()
        }
    }

    @Test func stoppingGivesUpWhatIsLeftInsteadOfBlockingTheRoomForGood() async throws {
        let withdrawals = Withdrawals(logger: Logger(label: "test"))
        let redis = FlakyRedis(failures: .max)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await withdrawals.run(attempt: redis.attempt) }
            await withdrawals.withdraw(Self.comment(1), attempt: redis.attempt)
            #expect(withdrawals.arePending(in: RoomID("w")!))
            withdrawals.stop()
            try await group.waitForAll()
        }
        #expect(!withdrawals.arePending(in: RoomID("w")!), "given up when the bus stops")
        #expect((redis.attempts.withLock { $0[1] } ?? 0) >= 2, "one last attempt when stopped")
        // After the stop a withdrawal is tried once and never blocks its room.
        await withdrawals.withdraw(Self.comment(2), attempt: redis.attempt)
        #expect(!withdrawals.arePending(in: RoomID("w")!))
    }
}
