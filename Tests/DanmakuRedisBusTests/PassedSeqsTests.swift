import DanmakuCore
@testable import DanmakuRedisBus
import Testing

/// Telling a comment a failover numbered again from a second copy of the one already passed.
@Suite struct PassedSeqsTests {
    let room = RoomID("lobby")!

    func comment(_ seq: UInt64, _ id: String) throws -> EncodedComment {
        try EncodedComment(
            Comment(seq: seq, id: id, room: room.value, user: CommentAuthor(id: "id", name: "id"), text: "t", color: "#ffffff", mode: .scroll, ts: 0),
            room: room)
    }

    @Test func aSecondCopyIsNotRenumberedAnotherCommentIsOnce() throws {
        var passed = PassedSeqs()
        try passed.passed(comment(5, "a"))
        #expect(try passed.classify(comment(5, "a")) == .copy, "the same comment again (publish and read-back)")
        #expect(try passed.classify(comment(5, "b")) == .anotherComment(replacing: "a"), "another comment at a seq already passed")
        #expect(try passed.classify(comment(5, "b")) == .copy, "told once: its next copy is a copy")
        #expect(try passed.classify(comment(6, "c")) == .copy, "a seq never passed here is not judged")
    }

    @Test func aCommentAtASkippedSeqIsRenumbered() throws {
        var passed = PassedSeqs()
        try passed.passed(comment(3, "a"))
        passed.skipped(1...4)
        #expect(try passed.classify(comment(3, "a")) == .copy, "a seq passed in the range stays passed")
        #expect(try passed.classify(comment(4, "d")) == .atSkippedSeq, "history held nothing at 4 when it was read")
        #expect(try passed.classify(comment(4, "d")) == .atSkippedSeq, "until the stream confirms it, it is not taken as the holder")
        try passed.passed(comment(4, "d"))
        #expect(try passed.classify(comment(4, "d")) == .copy)
        passed.skipped(10...(10 + PassedSeqs.remembered))
        #expect(try passed.classify(comment(10, "e")) == .copy, "a range longer than what is remembered is left alone")
    }

    @Test func onlyTheLatestSeqsAreRemembered() throws {
        var passed = PassedSeqs()
        try passed.passed(comment(1, "a"))
        try passed.passed(comment(1 + PassedSeqs.remembered, "z"))
        #expect(try passed.classify(comment(1, "b")) == .copy, "forgotten: its slot holds a later seq")
    }

    /// After a failover: what was passed on that the stream's latest entries do not hold.
    @Test func theCommentsTheStreamNoLongerHoldsAreNamedOnce() throws {
        var passed = PassedSeqs()
        for (seq, id) in [(1, "a"), (2, "b"), (3, "c"), (4, "d"), (5, "e")] { try passed.passed(comment(UInt64(seq), id)) }
        let before = passed.passedComments()
        #expect(passed.missing(of: before, comparedWith: []).isEmpty, "an empty stream (the room's keys gone) names nothing")
        // Passed while the read was on its way: not judged by it.
        try passed.passed(comment(6, "f"))
        // The stream's latest: 2 and 4 (1 is older than what was read; 3 retracted; 5 lost).
        let latest = try [comment(2, "b"), comment(4, "d")]
        let missing = passed.missing(of: before, comparedWith: latest)
        #expect(missing.map(\.seq) == [3, 5] && missing.map(\.id) == ["c", "e"])
        passed.forget(missing)
        #expect(passed.missing(of: passed.passedComments(), comparedWith: latest).map(\.seq) == [6], "each named once; 6 when judged by a later read")
        #expect(try passed.classify(comment(5, "e")) == .atSkippedSeq, "a late copy is checked against the stream")
    }

    @Test func theIDIsReadFromTheJSON() throws {
        #expect(try comment(1, "9f3c-x").commentID == "9f3c-x")
        let notice = EncodedComment(room: room, seq: 2, json: .init(string: #"{"seq":2,"id":"n-1","kind":"notice","payload":{"id":"x"}}"#))
        #expect(notice.commentID == "n-1")
        #expect(EncodedComment(room: room, seq: 3, json: .init(string: #"{"seq":3,"user":{"id":"u","name":"n"}}"#)).commentID == nil)
    }
}
