@testable import DanmakuRedisBus
import NIOCore
import Testing

@Suite struct SeqTrackerTests {
    let start = NIODeadline.uptimeNanoseconds(1_000_000_000)

    /// Sees each seq and returns which were new.
    func see(_ tracker: inout SeqTracker, _ seqs: [UInt64], at now: NIODeadline) -> [Bool] {
        seqs.map { tracker.see($0, now: now) }
    }

    @Test func interleavedBatchesAreNotGaps() {
        var tracker = SeqTracker(frontier: 10)
        #expect(see(&tracker, [11, 13, 12, 15, 14], at: start) == [true, true, true, true, true])
        #expect(tracker.frontier == 15)
        #expect(tracker.gapSince == nil)
        #expect(see(&tracker, [13, 9], at: start) == [false, false], "a duplicate, and a seq older than the subscription")
    }

    @Test func aGapIsReadAfterTheGracePeriodOnly() {
        var tracker = SeqTracker(frontier: 0)
        #expect(see(&tracker, [1, 3], at: start) == [true, true])
        #expect(tracker.repairRange(now: start + .milliseconds(100), grace: .milliseconds(250)) == nil)
        #expect(tracker.repairRange(now: start + .milliseconds(300), grace: .milliseconds(250)) == 2...3)
        #expect(see(&tracker, [2], at: start + .milliseconds(300)) == [true])
        #expect(tracker.frontier == 3 && tracker.gapSince == nil)
    }

    @Test func aCounterAheadOfDeliveriesIsAGapAndTrimmedSeqsAreGivenUp() {
        var tracker = SeqTracker(frontier: 5)
        tracker.learn(lastSeq: 9, now: start)
        let range = tracker.repairRange(now: start + .seconds(1), grace: .milliseconds(250))
        #expect(range == 6...9)
        // The stream only still held 8 and 9.
        #expect(see(&tracker, [8, 9], at: start + .seconds(1)) == [true, true])
        tracker.repaired(6...9, now: start + .seconds(1))
        #expect(tracker.frontier == 9 && tracker.gapSince == nil)
    }
}
