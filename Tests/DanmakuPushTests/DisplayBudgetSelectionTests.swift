import DanmakuCore
import DanmakuPush
import NIOCore
import Testing

/// The display budget's choice of what a batch carries: how many, which, and that priority goes.
@Suite struct DisplayBudgetSelectionTests {
    let room = RoomID("budget")!
    let start = NIODeadline.uptimeNanoseconds(1_000_000_000)

    func comment(_ seq: UInt64, role: String? = nil) throws -> EncodedComment {
        try EncodedComment(Comment(
            seq: seq, id: "c\(seq)", room: "budget", user: CommentAuthor(id: "u\(seq)", name: "n", role: role),
            text: "t \(seq)", color: "#ffffff", mode: .scroll, ts: 1), room: room)
    }

    func notice(_ seq: UInt64) throws -> EncodedComment {
        let json = try Notice.unnumberedJSON(
            id: "n\(seq)", room: room, payload: ByteBuffer(string: #"{"ts":5,"user":{"id":"x"}}"#), ts: 1,
            author: CommentAuthor(id: "star", name: "Star", role: "streamer"))
        return EncodedComment(numbering: json, seq: seq, room: room)
    }

    @Test func aFullSecondOfCreditSendsThatManySpreadEvenly() throws {
        var budget = DisplayBudget(perSecond: 50, now: start)
        let batch = try (1...1000).map { try comment(UInt64($0)) }
        let (sent, held) = budget.select(batch, now: start + .seconds(5))
        #expect(sent.count == 50, "credit saves up at most one second")
        #expect(held.count == 950)
        // Evenly spread: one from each slice of 20, not the first 50.
        let gaps = zip(sent.dropFirst(), sent).map { $0.seq - $1.seq }
        #expect(gaps.allSatisfy { $0 == 20 }, "\(gaps)")
        // Spent: nothing is left for a batch right after.
        #expect(budget.select(try (1001...1010).map { try comment(UInt64($0)) }, now: start + .seconds(5)).sent.isEmpty)
    }

    @Test func noticesAndPrivilegedAuthorsAlwaysGoAndSpendCredit() throws {
        var budget = DisplayBudget(perSecond: 10, now: start)
        var batch = try (1...100).map { try comment(UInt64($0)) }
        batch[10] = try notice(11)
        batch[20] = try comment(21, role: "moderator")
        batch[30] = try comment(31, role: "streamer")
        #expect(batch[10].isPriority && batch[20].isPriority && !batch[40].isPriority)
        let (sent, held) = budget.select(batch, now: start + .seconds(1))
        #expect(Set([11, 21, 31]).isSubset(of: Set(sent.map(\.seq))))
        #expect(sent.count == 10, "3 priority + 7 sampled")
        #expect(sent.count + held.count == 100)
        #expect(sent.map(\.seq) == sent.map(\.seq).sorted(), "in seq order")
        // Over budget with priority alone: it all still goes.
        let notices = try (200..<230).map { try notice(UInt64($0)) }
        #expect(budget.select(notices, now: start + .seconds(1)).sent.count == 30)
    }

    @Test func aNoticesOwnFieldsAreReadPastItsPayload() throws {
        // The payload has a `ts` and a `user` of its own; the notice's are the top-level ones.
        let item = try notice(7)
        #expect(item.acceptedAtMilliseconds == 1)
        #expect(item.encodedAuthor == Array(#""star""#.utf8))
        #expect(item.encodedAuthor == EncodedComment.encodedAuthorID("star"))
        #expect(try comment(8).encodedAuthor == EncodedComment.encodedAuthorID("u8"))
        #expect(item.hasID("n7") && !item.hasID("x"))
    }

    @Test func aSteadyFloodIsHeldToTheBudget() throws {
        var budget = DisplayBudget(perSecond: 60, now: start)
        var sent = 0
        var seq: UInt64 = 0
        // 1,000 comments a second in 10 ms windows, for 5 seconds.
        for window in 1...500 {
            let batch = try (0..<10).map { _ in seq += 1; return try comment(seq) }
            sent += budget.select(batch, now: start + .milliseconds(Int64(window * 10))).sent.count
        }
        #expect(sent >= 295 && sent <= 300, "60/s for 5 s: \(sent)")
    }
}
