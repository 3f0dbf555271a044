import Foundation
import NIOCore
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

/// The weight a comment is accepted with and carries: the token's level, the author's record,
/// likes on top, and stored values read back without trusting them.
@Suite struct AcceptedWeightTests {
    let viewer = CommentAuthor(id: "u42", name: "Ann")

    @Test func aLevelClaimSetsAViewersStanding() {
        let weights = CommentWeight.levels.map { CommentWeight.accepted(author: CommentAuthor(id: "u", name: "U", level: $0), penalty: 0) }
        #expect(weights == [1, 2, 3, 4, 5, 6, 7], "1 + level")
        #expect(CommentWeight.accepted(author: viewer, penalty: 0) == 5, "no claim: as before")
        let staff = CommentAuthor(id: "m", name: "M", role: "moderator", level: 0)
        #expect(CommentWeight.accepted(author: staff, penalty: 0) == 8, "staff stand above any level")
        for outside in [-1, 7, Int.min, Int.max] {
            #expect(CommentWeight.standing(of: CommentAuthor(id: "u", name: "U", level: outside)) == 5, "\(outside) is no level")
        }
    }

    @Test func aRecordLowersTheAcceptedWeightDownToOne() {
        #expect([0, 1, 2, 3, 4, 5].map { CommentWeight.accepted(author: viewer, penalty: $0) } == [5, 4, 3, 2, 1, 1])
        let staff = CommentAuthor(id: "m", name: "M", role: "moderator")
        #expect(CommentWeight.accepted(author: staff, penalty: 99) == 8 - CommentWeight.maxPenalty, "at most maxPenalty off")
        #expect(CommentWeight.accepted(author: viewer, penalty: -3) == 5, "a negative penalty adds nothing")
        #expect(CommentWeight.accepted(author: CommentAuthor(id: "anon-1", name: "a"), penalty: 2) == 1)
    }

    @Test func likesRaiseTheAcceptedWeightUpToTen() {
        #expect([0, 1, 3, 7, 15, 1 << 20].map { CommentWeight.of(accepted: 1, likes: $0) } == [1, 2, 3, 4, 5, 5])
        #expect(CommentWeight.of(accepted: 7, likes: 15) == 10, "at most 10")
        for weight in [Int.min, 0, 11, Int.max] {
            for likes in [Int.min, 0, Int.max] {
                #expect(CommentWeight.range.contains(CommentWeight.of(accepted: weight, likes: likes)), "\(weight) \(likes)")
            }
        }
    }

    @Test func aCommentCarriesItsWeightAndOldOnesAreWeighedByStanding() throws {
        let comment = Comment(seq: 3, id: "c1", room: "r", user: viewer, text: "hi", color: "#ffffff", mode: .scroll, ts: 1, weight: 3)
        let json = String(buffer: try EncodedComment(comment, room: RoomID("r")!).json)
        #expect(json.hasSuffix(#""user":{"id":"u42","name":"Ann"},"weight":3}"#), "\(json)")
        #expect(try EncodedComment(comment, room: RoomID("r")!).decoded().weight == 3)

        let old = ##"{"seq":1,"color":"#ffffff","id":"c0","mode":"scroll","room":"r","text":"hi","ts":1,"user":{"id":"u42","name":"Ann"}}"##
        #expect(try WireCodec.decoder.decode(Comment.self, from: Data(old.utf8)).weight == nil)
        let video = ##"{"seq":1,"color":"#ffffff","id":"c0","mode":"scroll","offsetMs":0,"text":"hi","ts":1,"user":{"id":"u42","name":"Ann"},"video":"v","likes":3}"##
        let oldVideo = try WireCodec.decoder.decode(VideoComment.self, from: Data(video.utf8))
        #expect(oldVideo.weight == nil && oldVideo.currentWeight == 7, "standing 5 + 2 for 3 likes")
    }

    @Test func aStoredWeightOutOfRangeIsDroppedNotTrusted() throws {
        for crafted in ["0", "11", "-1", "99999999999999999999", "1e300", "5.5", #""7""#, "null", "true"] {
            let live = ##"{"seq":1,"color":"#ffffff","id":"c0","mode":"scroll","room":"r","text":"hi","ts":1,"user":{"id":"u","name":"U"},"weight":\##(crafted)}"##
            #expect(try WireCodec.decoder.decode(Comment.self, from: Data(live.utf8)).weight == nil, "\(crafted)")
            let video = ##"{"seq":1,"color":"#ffffff","id":"c0","mode":"scroll","offsetMs":0,"text":"hi","ts":1,"user":{"id":"u","name":"U"},"video":"v","weight":\##(crafted)}"##
            let decoded = try WireCodec.decoder.decode(VideoComment.self, from: Data(video.utf8))
            #expect(decoded.weight == nil && decoded.currentWeight == 5, "\(crafted)")
        }
        #expect(Comment(seq: 1, id: "c", room: "r", user: viewer, text: "t", color: "#ffffff", mode: .scroll, ts: 1, weight: 42).weight == nil)
    }

    @Test func theLevelIsNeitherWrittenNorComparedButTheWeightIs() throws {
        let leveled = CommentAuthor(id: "u42", name: "Ann", level: 6)
        #expect(leveled == viewer && leveled.hashValue == viewer.hashValue)
        #expect(String(decoding: try WireCodec.encoder.encode(leveled), as: UTF8.self) == #"{"id":"u42","name":"Ann"}"#)
    }
}
