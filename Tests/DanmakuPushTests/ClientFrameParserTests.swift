@testable import DanmakuPush
import DanmakuTestSupport
import NIOCore
import NIOWebSocket
import Testing

@Suite struct ClientFrameParserTests {
    /// Three frames of every header size (7-, 16- and 64-bit lengths), one masked ping between.
    static let stream: [UInt8] = {
        var bytes = ByteBuffer()
        var parts = [
            clientFrame(opcode: 0x1, payload: Array("hello".utf8), fin: false),
            clientFrame(opcode: 0x9, payload: [1, 2, 3]),
            clientFrame(opcode: 0x0, payload: [UInt8](repeating: 0x61, count: 300)),
            clientFrame(opcode: 0x2, payload: [UInt8](repeating: 0x62, count: 70_000)),
        ]
        for index in parts.indices { bytes.writeBuffer(&parts[index]) }
        return Array(bytes.readableBytesView)
    }()

    func frames(_ chunks: [ArraySlice<UInt8>]) throws -> [WebSocketFrame] {
        var parser = ClientFrameParser(maxFrameBytes: 100_000)
        var frames: [WebSocketFrame] = []
        for chunk in chunks {
            parser.append(ByteBuffer(bytes: chunk))
            while let frame = try parser.next() { frames.append(frame) }
        }
        #expect(parser.pendingBytes == 0, "nothing held between frames")
        return frames
    }

    @Test func framesComeOutWholeHoweverTheBytesAreCut() throws {
        let whole = try frames([Self.stream[...]])
        #expect(whole.map(\.opcode) == [.text, .ping, .continuation, .binary])
        #expect(whole.map(\.fin) == [false, true, true, true])
        #expect(whole.map(\.length) == [5, 3, 300, 70_000])
        #expect(String(buffer: whole[0].unmaskedData) == "hello")
        #expect(whole.allSatisfy { $0.maskKey != nil })
        for size in [1, 2, 3, 7, 13, 1000] {
            let chunks = stride(from: 0, to: Self.stream.count, by: size).map { Self.stream[$0..<min($0 + size, Self.stream.count)] }
            let cut = try frames(chunks)
            #expect(cut.map(\.unmaskedData) == whole.map(\.unmaskedData), "cut every \(size) bytes")
        }
    }

    @Test func holdsAtMostOneFrameAndOneRead() throws {
        var parser = ClientFrameParser(maxFrameBytes: 100_000)
        var held = 0
        // Reads of 1,000 bytes never line up with the frames' edges.
        for start in stride(from: 0, to: Self.stream.count, by: 1000) {
            parser.append(ByteBuffer(bytes: Self.stream[start..<min(start + 1000, Self.stream.count)]))
            while try parser.next() != nil {}
            held = max(held, parser.pendingBytes)
        }
        #expect(held <= 70_000 + 14 + 1000)
    }

    @Test func aLengthOverTheLimitIsRefusedOnItsHeader() {
        var parser = ClientFrameParser(maxFrameBytes: 1000)
        // A 64-bit length of 2^63: refused without reading on, and never turned into an Int.
        var header = ByteBuffer(bytes: [0x82, 0xFF])
        header.writeInteger(UInt64(1) << 63)
        parser.append(header)
        #expect(throws: ClientFrameParser.Failure.tooLarge) { try parser.next() }
        var small = ClientFrameParser(maxFrameBytes: 1000)
        small.append(clientFrame(opcode: 0x1, payload: [UInt8](repeating: 0x61, count: 1001)))
        #expect(throws: ClientFrameParser.Failure.tooLarge) { try small.next() }
    }

    @Test func controlFramesMustBeShortAndWhole() {
        var long = ClientFrameParser(maxFrameBytes: 1000)
        long.append(ByteBuffer(bytes: [0x89, 0xFE, 0x00, 0x7E]))  // a ping announcing 126 bytes
        #expect(throws: ClientFrameParser.Failure.malformedControlFrame) { try long.next() }
        var fragmented = ClientFrameParser(maxFrameBytes: 1000)
        fragmented.append(clientFrame(opcode: 0x9, payload: [1], fin: false))
        #expect(throws: ClientFrameParser.Failure.malformedControlFrame) { try fragmented.next() }
    }

    @Test func anIncompleteHeaderWaits() throws {
        var parser = ClientFrameParser(maxFrameBytes: 100_000)
        parser.append(ByteBuffer(bytes: [0x82, 0xFF, 0, 0]))  // a 64-bit length, half of it
        #expect(try parser.next() == nil)
        #expect(parser.pendingBytes == 4)
    }
}
