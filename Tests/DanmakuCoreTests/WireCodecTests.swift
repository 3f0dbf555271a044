import DanmakuCore
import Foundation
import NIOCore
import Testing

@Suite struct RoomIDTests {
    @Test(arguments: ["r1", "ROOM_9-x", String(repeating: "a", count: 64)])
    func acceptsValidIDs(_ id: String) {
        #expect(RoomID(id)?.value == id)
    }

    @Test(arguments: ["", String(repeating: "a", count: 65), "a b", "a/b", "röom", "a\"b", "%41"])
    func rejectsInvalidIDs(_ id: String) {
        #expect(RoomID(id) == nil)
    }
}

@Suite struct WireCodecTests {
    let comment = DanmakuCore.Comment(
        seq: 42, id: "c-1", room: "r1", user: CommentAuthor(id: "u1", name: "Ann \"A\""),
        text: "hi </script> 你好", color: "#ffffff", mode: .top, ts: 1_764_160_000_123)

    @Test func encodedCommentRoundTrips() throws {
        let encoded = try EncodedComment(comment, room: RoomID("r1")!)
        #expect(encoded.seq == 42)
        #expect(try encoded.decoded() == comment)
    }

    @Test func encodingIsDeterministic() throws {
        let first = try EncodedComment(comment, room: RoomID("r1")!)
        let second = try EncodedComment(comment, room: RoomID("r1")!)
        #expect(first.json == second.json)
        #expect(String(buffer: first.json).hasPrefix(##"{"seq":42,"color":"#ffffff","id":"c-1","##))
    }

    @Test func theAcceptTimeIsReadWithoutDecoding() throws {
        #expect(try EncodedComment(comment, room: RoomID("r1")!).acceptedAtMilliseconds == 1_764_160_000_123)
        #expect(EncodedComment(room: RoomID("r1")!, seq: 1, json: ByteBuffer(string: #"{"seq":1}"#)).acceptedAtMilliseconds == nil)
    }

    @Test func aCommentIsFoundByItsIDAndNotByItsAuthors() throws {
        let encoded = try EncodedComment(comment, room: RoomID("r1")!)
        #expect(EncodedComment.idMarker("c-1") == #","id":"c-1","mode":"#)
        #expect(encoded.hasID("c-1"))
        #expect(!encoded.hasID("u1"), "the author's id")
        #expect(!encoded.hasID("c"))
        #expect(EncodedComment.isPlausibleID("7ab5543e-f72f-4057-b770-48c8bd8bc09d"))
        for bad in ["", "a b", "x\"", String(repeating: "a", count: 65), "é"] { #expect(!EncodedComment.isPlausibleID(bad), "\(bad)") }
    }

    @Test func numberingPutsTheSeqFirstAndCanBeReadBack() throws {
        var unnumbered = comment
        unnumbered.seq = 0
        let numbered = EncodedComment(numbering: unnumbered.unnumberedJSON(), seq: 7, room: RoomID("r1")!)
        #expect(numbered.seq == 7)
        var expected = comment
        expected.seq = 7
        #expect(try numbered.decoded() == expected)
        let read = try #require(EncodedComment(numberedJSON: numbered.json, room: RoomID("r1")!))
        #expect(read == numbered)
        for bad in [#"{"color":"x","seq":1}"#, #"{"seq":}"#, #"{"seq":99999999999999999999999,"a":1}"#, ""] {
            #expect(EncodedComment(numberedJSON: ByteBuffer(string: bad), room: RoomID("r1")!) == nil, "\(bad)")
        }
    }

    @Test func arrayWriterConcatenatesEncodedItems() throws {
        var items: [EncodedComment] = []
        for seq in 1...3 {
            var copy = comment
            copy.seq = UInt64(seq)
            items.append(try EncodedComment(copy, room: RoomID("r1")!))
        }
        for count in 0...3 {
            let slice = Array(items.prefix(count))
            var buffer = ByteBuffer()
            WireCodec.writeArray(of: slice, into: &buffer)
            #expect(buffer.readableBytes == WireCodec.arrayLength(of: slice))
            let bytes: [UInt8] = Array(buffer.readableBytesView)
            let decoded: [DanmakuCore.Comment] = try JSONDecoder().decode([DanmakuCore.Comment].self, from: Data(bytes))
            let expected: [UInt64] = slice.map { $0.seq }
            #expect(decoded.map { $0.seq } == expected)
        }
    }

    @Test func errorsCarryStatusAndCode() {
        #expect(DanmakuError.rateLimited(scope: "user", retryAfter: 3).status == 429)
        #expect(DanmakuError.rateLimited(scope: "user", retryAfter: 3).retryAfterSeconds == 3)
        #expect(DanmakuError.filtered.status == 422)
        #expect(DanmakuError.textTooLong(max: 200).status == 413)
        #expect(DanmakuError.invalidField("color", "x").code == "invalid_color")
    }
}
