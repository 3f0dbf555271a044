import CompressNIO
import DanmakuPush
import DanmakuTestSupport
import NIOCore
import NIOEmbedded
import Testing

@Suite struct PerMessageDeflateNegotiationTests {
    @Test(arguments: [
        ["permessage-deflate"],
        ["permessage-deflate; client_max_window_bits"],
        ["permessage-deflate; server_no_context_takeover; client_no_context_takeover"],
        ["x-webkit-deflate-frame, permessage-deflate; client_max_window_bits=10"],
        ["permessage-deflate; server_max_window_bits=15"],
        ["permessage-deflate; server_max_window_bits=10, permessage-deflate"],
    ])
    func acceptsOffersThatAllowSharedFrames(_ headers: [String]) {
        #expect(PerMessageDeflate.accepts(headers))
    }

    @Test(arguments: [[], ["x-webkit-deflate-frame"], ["permessage-deflate; server_max_window_bits=10"], ["permessage-deflate; mystery=1"]])
    func declinesOthers(_ headers: [String]) {
        #expect(!PerMessageDeflate.accepts(headers))
    }
}

/// Inflates a server message as a client would (RFC 7692: append 00 00 FF FF, raw inflate).
func inflateMessage(_ payload: [UInt8]) throws -> String {
    var input = ByteBuffer(bytes: payload + [0x00, 0x00, 0xFF, 0xFF])
    var output = ByteBufferAllocator().buffer(capacity: 1 << 20)
    let decompressor = try ZlibDecompressor(algorithm: .deflate)
    do {
        try decompressor.inflate(from: &input, to: &output)
    } catch let error as CompressNIOError where error == .inputBufferOverflow {}
    return String(buffer: output)
}

/// A client's compressed message payload (raw deflate, sync flush, tail removed).
func deflateMessage(_ text: String) throws -> [UInt8] {
    let compressor = try ZlibCompressor(algorithm: .deflate)
    var input = ByteBuffer(string: text)
    var output = ByteBufferAllocator().buffer(capacity: compressor.maxSize(from: input))
    try compressor.deflate(from: &input, to: &output, flush: .sync)
    return Array(output.readableBytesView.dropLast(4))
}

@Suite struct SharedCompressionTests {
    @Test func oneCompressedBatchServesEveryCompressedViewer() async throws {
        let harness = ViewerHarness()
        let plain = try harness.connect()
        let compressed = try (0..<3).map { _ in try harness.connect(compression: true) }
        for viewer in [plain] + compressed { _ = try harness.frames(viewer) }
        try await harness.post(20, text: "前方高能 awesome play 666")
        harness.loop.advanceTime(by: .milliseconds(10))

        let plainFrame = try #require(try harness.frames(plain).first)
        #expect(plainFrame.opcode == 0x1)
        var buffers: [ByteBuffer] = []
        for viewer in compressed { buffers.append(try #require(try viewer.readOutbound(as: ByteBuffer.self))) }
        // The same storage for all three: compressed once, not per viewer.
        let addresses = Set(buffers.map { buffer in buffer.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) } })
        #expect(addresses.count == 1)
        let frame = try #require(ParsedFrame.parseAll(buffers[0])?.first)
        #expect(buffers[0].getInteger(at: buffers[0].readerIndex, as: UInt8.self) == 0xC1, "FIN, RSV1, text")
        #expect(frame.payload.count * 2 < plainFrame.payload.count, "compressed \(frame.payload.count) of \(plainFrame.payload.count) bytes")
        #expect(try inflateMessage(frame.payload) == plainFrame.text)
    }

    @Test func acceptsCompressedPostsAndRefusesBombs() async throws {
        let harness = ViewerHarness()
        let viewer = try harness.connect(compression: true)
        _ = try harness.frames(viewer)
        // Unknown type, compressed: the server inflated it to read the type.
        let message = try deflateMessage(#"{"type":"dance"}"#)
        var frame = clientFrame(opcode: 0x1, payload: message, rsv1: true)
        try viewer.writeInbound(frame)
        #expect(try harness.frames(viewer).map { try json($0)["code"] as? String } == ["unknown_type"])
        // 1 MB of spaces deflates to about a kilobyte: under the frame limit, far over the message limit.
        frame = clientFrame(opcode: 0x1, payload: try deflateMessage(String(repeating: " ", count: 1_000_000)), rsv1: true)
        _ = try? viewer.writeInbound(frame)
        #expect(try harness.frames(viewer).last?.closeCode == 1009)
    }

    @Test func compressedBitWithoutNegotiationIsAProtocolError() throws {
        let harness = ViewerHarness()
        let viewer = try harness.connect()
        _ = try harness.frames(viewer)
        _ = try? viewer.writeInbound(clientFrame(opcode: 0x1, payload: try deflateMessage("{}"), rsv1: true))
        #expect(try harness.frames(viewer).last?.closeCode == 1002)
    }
}
