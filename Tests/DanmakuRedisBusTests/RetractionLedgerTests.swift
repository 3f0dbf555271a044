@testable import DanmakuRedisBus
import NIOCore
import Testing

@Suite struct RetractionLedgerTests {
    let start = NIODeadline.uptimeNanoseconds(1_000_000_000)

    /// Whether the ledger takes retraction `n` of `id` as one not told before.
    func admit(_ ledger: inout RetractionLedger, _ n: UInt64, _ id: String, at now: NIODeadline) -> Bool {
        ledger.admit(n, id: id, now: now)
    }

    @Test func eachRetractionIsToldOnceHoweverItComes() {
        var ledger = RetractionLedger(count: 4)
        #expect(admit(&ledger, 5, "a", at: start))
        #expect(!admit(&ledger, 5, "a", at: start), "its read-back after its publish")
        #expect(admit(&ledger, 7, "c", at: start))
        #expect(ledger.missing(now: start + .milliseconds(300), grace: .milliseconds(250)) == 6...7)
        #expect(admit(&ledger, 6, "b", at: start + .milliseconds(300)))
        #expect(ledger.missing(now: start + .seconds(1), grace: .milliseconds(250)) == nil)
    }

    @Test func aCounterAheadIsMissedAndWhatTheStreamNoLongerHoldsIsGivenUp() {
        var ledger = RetractionLedger(count: 0)
        ledger.learn(count: 3, now: start)
        #expect(ledger.missing(now: start + .milliseconds(100), grace: .milliseconds(250)) == nil)
        #expect(ledger.missing(now: start + .milliseconds(300), grace: .milliseconds(250)) == 1...3)
        #expect(admit(&ledger, 3, "c", at: start + .milliseconds(300)))
        ledger.readBack(1...3, now: start + .milliseconds(300))
        #expect(ledger.missing(now: start + .seconds(2), grace: .milliseconds(250)) == nil)
    }

    /// A failover to a replica that lacked the last retractions numbers the next ones again.
    @Test func numbersGivenAgainAfterAFailoverAreNewRetractions() {
        var ledger = RetractionLedger(count: 10)
        #expect(admit(&ledger, 11, "a", at: start))
        #expect(admit(&ledger, 12, "b", at: start))
        // The new master had only 10: its next retraction is 11 again, for another comment.
        #expect(admit(&ledger, 11, "x", at: start), "same number, another comment")
        ledger.learn(count: 11, now: start)
        #expect(admit(&ledger, 12, "y", at: start), "counted from the new master's counter")
        #expect(!admit(&ledger, 12, "y", at: start))
        #expect(ledger.missing(now: start + .seconds(1), grace: .milliseconds(250)) == nil)
    }

    /// Read back after a resubscription: the latest retractions come again; those told and those
    /// from before the feed started are not told, one numbered again after a failover is.
    @Test func aReadBackTellsOnlyWhatWasNotTold() {
        var ledger = RetractionLedger(count: 5)
        #expect(admit(&ledger, 6, "a", at: start))
        func readBack(_ n: UInt64, _ id: String) -> Bool { ledger.admit(n, id: id, now: start, readBack: true) }
        #expect(!readBack(4, "old"), "before the feed started")
        #expect(!readBack(6, "a"), "told")
        #expect(readBack(6, "b"), "the number given again, another comment")
        #expect(readBack(7, "c"), "new")
    }

    @Test func idsAreRememberedForTheStreamsLengthOnly() {
        var ledger = RetractionLedger(count: 0)
        let count = UInt64(RetractionLedger.remembered * 3)
        for n in 1...count { #expect(admit(&ledger, n, "c\(n)", at: start)) }
        #expect(!admit(&ledger, count, "c\(count)", at: start))
        #expect(admit(&ledger, 1, "c1", at: start), "forgotten: long out of the retraction stream, never read back")
    }
}
