import DanmakuCore
import Foundation
import Testing

@testable import DanmakuPush

/// Merged repeats: which comments a batch sends once, and the seqs each stands for.
@Suite struct RepeatMergerTests {
    let room = RoomID("r1")!

    func comment(_ seq: UInt64, _ text: String, role: String? = nil) throws -> EncodedComment {
        let json = Comment(
            seq: 0, id: UUID().uuidString, room: room.value, user: CommentAuthor(id: "u\(seq)", name: "U", role: role),
            text: text, color: "#ffffff", mode: .scroll, ts: 0
        ).unnumberedJSON()
        return EncodedComment(numbering: json, seq: seq, room: room)
    }

    @Test func repeatsAreSentOnceWithTheSeqsTheyStandFor() throws {
        let batch = [try comment(1, "666"), try comment(2, "nice"), try comment(3, "６６６"), try comment(4, "6 6 6"), try comment(5, "nice")]
        let (kept, groups) = RepeatMerger.merge(batch)
        #expect(kept.map(\.seq) == [1, 2])
        #expect(groups == [[1, 3, 4], [2, 5]])
    }

    @Test func noticesAndStaffCommentsAreNeverMerged() throws {
        let batch = [try comment(1, "666"), try comment(2, "666", role: "streamer"), try comment(3, "666")]
        let (kept, groups) = RepeatMerger.merge(batch)
        #expect(kept.map(\.seq) == [1, 2])
        #expect(groups == [[1, 3]])
    }

    @Test func aBatchWithoutRepeatsIsLeftAsItIs() throws {
        let batch = [try comment(1, "a"), try comment(2, "b")]
        let (kept, groups) = RepeatMerger.merge(batch)
        #expect(kept.map(\.seq) == [1, 2] && groups.isEmpty)
    }
}
