@testable import DanmakuClient
import Testing

/// Where a client resumes a room from, and which comments are new to it.
@Suite struct RoomCursorTests {
    func comment(_ seq: UInt64) -> DanmakuComment {
        DanmakuComment(seq: seq, id: "c\(seq)", room: "r", text: "t", color: nil, mode: nil, ts: 0, user: .init(id: "u", name: "U"))
    }

    @Test func reportsEachSeqOnceAndResumesAfterTheLast() {
        var cursor = RoomCursor()
        let restarted = cursor.hello(lastSeq: 4, epoch: 100)
        #expect(!restarted)
        let first = cursor.fresh([comment(4), comment(5), comment(6)]).map(\.seq)
        #expect(first == [5, 6], "what was there before joining is not new")
        let second = cursor.fresh([comment(6), comment(7)]).map(\.seq)
        #expect(second == [7])
        #expect(cursor.resumeParameters.map { "\($0.0)=\($0.1)" } == ["since=7", "epoch=100"])
    }

    @Test func aBatchThatAccountsForSeqsItDoesNotCarryMovesTheResumePoint() {
        var cursor = RoomCursor()
        _ = cursor.hello(lastSeq: 0, epoch: 100)
        _ = cursor.fresh([comment(1), comment(4)])
        // Seqs 2, 3, 5 and 6 were merged into 1 and 4 (or shed): a resume starts after 6.
        cursor.passed(6)
        #expect(cursor.fresh([comment(5), comment(7)]).map(\.seq) == [7])
        cursor.passed(3)
        #expect(cursor.lastSeq == 7, "never backwards")
    }

    @Test func aNewEpochStartsOverButTheFirstNumberingOfANewRoomDoesNot() {
        var cursor = RoomCursor()
        _ = cursor.hello(lastSeq: 0, epoch: 0)
        _ = cursor.fresh([comment(1), comment(2)])
        let fromNoNumbering = cursor.hello(lastSeq: 2, epoch: 100)
        #expect(!fromNoNumbering, "epoch 0 had no numbering: its seqs are the new one's")
        #expect(cursor.lastSeq == 2)
        let anotherEpoch = cursor.hello(lastSeq: 1, epoch: 200)
        #expect(anotherEpoch)
        let renumbered = cursor.fresh([comment(1)]).map(\.seq)
        #expect(renumbered == [1])
    }
}
