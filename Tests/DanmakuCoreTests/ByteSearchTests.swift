import DanmakuCore
import NIOCore
import Testing

@Suite struct ByteSearchTests {
    @Test func findsThePatternAtTheViewsOwnIndices() {
        var buffer = ByteBuffer(string: "xxabcab,abcd")
        buffer.moveReaderIndex(forwardBy: 2)  // the view starts at index 2 of the buffer
        let view = buffer.readableBytesView
        #expect(view.firstRange(ofBytes: Array("abcd".utf8)) == 8..<12, "the last four bytes")
        #expect(view.firstRange(ofBytes: Array("ab".utf8)) == 2..<4, "the first of several")
        #expect(view.firstRange(ofBytes: Array("abd".utf8)) == nil)
        #expect(view.firstRange(ofBytes: []) == nil)
        let tail = view[5...]
        #expect(tail.firstRange(ofBytes: Array("ab".utf8)) == 5..<7, "a slice keeps the buffer's indices")
        #expect(view[2..<5].firstRange(ofBytes: Array("abca".utf8)) == nil, "not past the slice's end")
        #expect(view.firstRange(ofBytes: Array("ab".utf8)) == view.firstRange(of: Array("ab".utf8)))
    }
}
