import DanmakuCore
import Foundation
import NIOCore
import Testing

@Suite struct WireFormatTests {
    let room = RoomID("r-1")!

    func encoded(color: String = "#ffffff", mode: CommentMode = .scroll, text: String = "hi") throws -> EncodedComment {
        try EncodedComment(Comment(
            seq: 7, id: "c0ffee", room: room.value, user: CommentAuthor(id: "u", name: "U"), text: text, color: color, mode: mode,
            ts: 1), room: room)
    }

    func object(_ buffer: ByteBuffer) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(buffer.readableBytesView)) as? [String: Any])
    }

    @Test func compactLeavesOutTheRoomAndDefaultColourAndMode() throws {
        let compact = try object(try encoded().compactJSON())
        #expect(Set(compact.keys) == ["seq", "id", "user", "text", "ts"])
        #expect(compact["seq"] as? Int == 7)
    }

    @Test func compactKeepsColoursAndModesThatAreNotTheDefault() throws {
        let compact = try object(try encoded(color: "#ff0000", mode: .top).compactJSON())
        #expect(compact["color"] as? String == "#ff0000")
        #expect(compact["mode"] as? String == "top")
        #expect(compact["room"] == nil)
    }

    @Test func textThatLooksLikeTheFieldsIsLeftAlone() throws {
        let text = ##""color":"#ffffff","mode":"scroll","room":"r-1","##
        let compact = try object(try encoded(text: text).compactJSON())
        #expect(compact["text"] as? String == text)
    }

    @Test func bytesOfAnotherShapeAreReturnedUnchanged() {
        let notice = EncodedComment(room: room, seq: 3, json: ByteBuffer(string: #"{"seq":3,"kind":"notice","room":"r-1"}"#))
        #expect(notice.compactJSON() == notice.json)
    }
}
