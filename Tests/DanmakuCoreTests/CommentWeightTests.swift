import DanmakuCore
import Testing

/// The shielding weight: the documented formula, and never outside 1–10 whatever the counts.
@Suite struct CommentWeightTests {
    @Test func standingAndReceptionMakeTheWeight() {
        let anonymous = CommentAuthor(id: "anon-0a1b2c", name: "anonymous")
        let viewer = CommentAuthor(id: "u42", name: "Ann")
        let staff = CommentAuthor(id: "m1", name: "Mia", role: "moderator")
        #expect(CommentWeight.of(author: anonymous, likes: 0) == 2)
        #expect(CommentWeight.of(author: viewer, likes: 0) == 5)
        #expect(CommentWeight.of(author: staff, likes: 0) == 8)
        #expect([0, 1, 2, 3, 7, 15, 1000].map { CommentWeight.of(author: viewer, likes: $0) } == [5, 6, 6, 7, 8, 9, 9])
        #expect(CommentWeight.of(author: staff, likes: 7) == 10, "at most 10")
    }

    @Test func anyCountGivesAWeightInRange() {
        let viewer = CommentAuthor(id: "u42", name: "Ann")
        for likes in [Int.min, -1, 0, 1, 65_535, 65_536, Int.max] {
            #expect(CommentWeight.range.contains(CommentWeight.of(author: viewer, likes: likes)), "\(likes)")
        }
    }
}
