import DanmakuCore
import NIOCore
import Testing

@testable import DanmakuPush

/// A room's comments back in seq order: holding, withdrawn seqs, the start, a stalled gap.
@Suite struct SeqOrderTests {
    let room = RoomID("r1")!
    let start = NIODeadline.uptimeNanoseconds(1_000_000_000)

    func comment(_ seq: UInt64) throws -> EncodedComment {
        try EncodedComment(Comment(
            seq: seq, id: "c\(seq)", room: "r1", user: CommentAuthor(id: "u", name: "n"), text: "t", color: "#ffffff", mode: .scroll, ts: 1),
            room: room)
    }

    @Test func commentsWaitForTheSnapshotAndForMissingSeqs() throws {
        var order = SeqOrder()
        var ready: [EncodedComment] = []
        order.receive([try comment(2), try comment(4)], into: &ready, now: start)
        #expect(ready.isEmpty, "nothing passes before the start is known")
        order.start(after: 1, into: &ready, now: start)
        #expect(ready.map(\.seq) == [2])
        order.receive([try comment(3), try comment(2)], into: &ready, now: start)
        #expect(ready.map(\.seq) == [2, 3, 4], "3 closes the gap; 2 again is not passed twice")
    }

    @Test func aWithdrawnSeqIsSkippedUnlessAnotherCommentHoldsIt() throws {
        var order = SeqOrder()
        var ready: [EncodedComment] = []
        order.start(after: 0, into: &ready, now: start)
        order.receive([try comment(2)], into: &ready, now: start)
        order.withdraw(seq: 1, id: "c1", seqReused: true, into: &ready, now: start)
        #expect(ready.isEmpty, "a reused seq is still waited for")
        order.withdraw(seq: 1, id: "c1", seqReused: false, into: &ready, now: start)
        #expect(ready.map(\.seq) == [2])
    }

    @Test func aGapOpenPastTheTimeoutIsNamedThenSkippedOnceHistoryIsRead() throws {
        var order = SeqOrder()
        var ready: [EncodedComment] = []
        order.start(after: 0, into: &ready, now: start)
        order.receive([try comment(4)], into: &ready, now: start)
        #expect(order.stalledGap(now: start + .milliseconds(1999), timeout: .seconds(2)) == nil)
        #expect(order.stalledGap(now: start + .seconds(2), timeout: .seconds(2)) == 1...3)
        // History held seq 2 only (1 and 3 were retracted): 2 goes out, then 4.
        order.receive([try comment(2)], into: &ready, now: start + .seconds(2))
        order.skip(through: 3, into: &ready, now: start + .seconds(2))
        #expect(ready.map(\.seq) == [2, 4] && order.next == 5, "\(ready.map(\.seq))")
    }
}
