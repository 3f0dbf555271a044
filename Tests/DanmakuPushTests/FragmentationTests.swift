import DanmakuPush
import DanmakuTestSupport
import NIOCore
import NIOEmbedded
import Testing

/// RFC 6455 §5.4: any client may fragment any message, and control frames may come between the
/// fragments. The guard reassembles them, checks UTF-8 as they arrive and bounds the whole.
@Suite struct FragmentationTests {
    /// The bytes of `text` cut into `count` frames: text, continuations, the last with FIN.
    func fragments(_ bytes: [UInt8], into count: Int, opcode: UInt8 = 0x1, rsv1: Bool = false) -> [ByteBuffer] {
        let size = (bytes.count + count - 1) / count
        return stride(from: 0, to: bytes.count, by: size).enumerated().map { index, start in
            let piece = Array(bytes[start..<min(bytes.count, start + size)])
            let last = start + size >= bytes.count
            return clientFrame(opcode: index == 0 ? opcode : 0x0, payload: piece, fin: last, rsv1: rsv1 && index == 0)
        }
    }

    func joined(_ frames: [ParsedFrame], room: String) throws -> Bool {
        try frames.contains { frame in
            guard frame.opcode == 0x1 else { return false }
            let message = try json(frame)
            return message["type"] as? String == "hello" && message["room"] as? String == room
        }
    }

    @Test func aFragmentedMessageWithAPingBetweenIsReassembled() throws {
        let harness = ViewerHarness()
        let viewer = try harness.connect()
        _ = try harness.frames(viewer)
        let pieces = fragments(Array(#"{"type":"join","room":"fragmented"}"#.utf8), into: 4)
        try viewer.writeInbound(pieces[0])
        try viewer.writeInbound(pieces[1])
        try viewer.writeInbound(clientFrame(opcode: 0x9, payload: Array("between".utf8)))
        let pong = try harness.frames(viewer)
        #expect(pong.count == 1 && pong[0].opcode == 0xA && pong[0].text == "between", "the ping is answered at once")
        try viewer.writeInbound(pieces[2])
        try viewer.writeInbound(pieces[3])
        #expect(try joined(try harness.frames(viewer), room: "fragmented"))
        #expect(viewer.isActive)
    }

    @Test func aCompressedMessageMayBeFragmentedToo() throws {
        let harness = ViewerHarness()
        let viewer = try harness.connect(compression: true)
        _ = try harness.frames(viewer)
        for piece in fragments(try deflateMessage(#"{"type":"join","room":"squeezed"}"#), into: 3, rsv1: true) {
            try viewer.writeInbound(piece)
        }
        #expect(try joined(try harness.frames(viewer), room: "squeezed"))
    }

    @Test func invalidUTF8IsRefusedOnTheFragmentWhereItBreaks() throws {
        let harness = ViewerHarness()
        let viewer = try harness.connect()
        _ = try harness.frames(viewer)
        // "{ é" cut inside the é: fine so far…
        try viewer.writeInbound(clientFrame(opcode: 0x1, payload: [0x7B, 0x20, 0xC3], fin: false))
        #expect(try harness.frames(viewer).isEmpty)
        // …until the next fragment does not continue it; the message has not ended yet.
        _ = try? viewer.writeInbound(clientFrame(opcode: 0x0, payload: [0x28, 0x7D], fin: false))
        let frames = try harness.frames(viewer)
        #expect(frames.last?.closeCode == 1007)
        #expect(!viewer.isActive, "the connection is failed, not left for the client to close")
    }

    @Test(arguments: [
        ("continuation without a message", [clientFrame(opcode: 0x0, payload: [0x7B])], UInt16(1002)),
        ("a new message inside a fragmented one", [clientFrame(opcode: 0x1, payload: [0x7B], fin: false), clientFrame(opcode: 0x1, payload: [0x7D])], 1002),
        ("RSV1 on a continuation", [clientFrame(opcode: 0x1, payload: [0x7B], fin: false), clientFrame(opcode: 0x0, payload: [0x7D], rsv1: true)], 1002),
        ("fragments past the size limit", (0..<5).map { clientFrame(opcode: $0 == 0 ? 0x1 : 0x0, payload: Array(repeating: 0x61, count: 1000), fin: $0 == 4) }, 1009),
        ("a message ending inside a character", [clientFrame(opcode: 0x1, payload: [0x7B, 0xE2, 0x82], fin: false), clientFrame(opcode: 0x0, payload: [])], 1007),
        ("an unmasked continuation", [clientFrame(opcode: 0x1, payload: [0x7B], fin: false), clientFrame(opcode: 0x0, payload: [0x7D], masked: false)], 1002),
    ])
    func fragmentRulesAreEnforced(_ name: String, _ frames: [ByteBuffer], _ code: UInt16) throws {
        let harness = ViewerHarness()
        let viewer = try harness.connect()
        _ = try harness.frames(viewer)
        for frame in frames { _ = try? viewer.writeInbound(frame) }
        #expect(try harness.frames(viewer).last?.closeCode == code, "\(name)")
        #expect(!viewer.isActive, "\(name)")
    }
}
