// Danmaku — a live-stream bullet-comment service.

import DanmakuBus
import DanmakuCore
import DanmakuIngest
import DanmakuLogic
import DanmakuPush
import Dispatch
import Foundation
import Logging
import NIOCore
import NIOEmbedded
import NIOWebSocket

/// What the fuzzer feeds, and the properties that must hold for any input.
enum FuzzTarget: String, CaseIterable {
    /// A POST body: decoding, validation, normalization and the word filter.
    case comment
    /// Bytes from a viewer after the upgrade: frame decoding, the viewer handler; and the same
    /// bytes as a request URI: routing and query parsing.
    case frames
    /// A request head: request line, query string and headers through the HTTP API's routing
    /// and handlers (`HTTPHarness`).
    case http
    /// A connection's whole input: pipelined requests cut at arbitrary points, through the
    /// server's own pipeline with its hand-offs to event streams and WebSockets
    /// (`ConnectionHarness`).
    case connection

    func run(_ bytes: [UInt8]) {
        switch self {
        case .comment: Self.comment(bytes)
        case .frames: Self.frames(bytes)
        case .http: Self.wait { await Self.httpHarness.check(bytes) }
        case .connection: Self.wait { await Self.connectionHarness.check(bytes) }
        }
    }

    private static let httpHarness = HTTPHarness()
    private static let connectionHarness = ConnectionHarness()

    /// Waits for an async check: libFuzzer calls targets synchronously, from one thread.
    private static func wait(_ check: @escaping @Sendable () async -> Void) {
        let done = DispatchSemaphore(value: 0)
        Task {
            await check()
            done.signal()
        }
        done.wait()
    }

    private static let filter = SensitiveWordFilter(words: ["bad", "傻逼", "fuck"])
    private static let validator = CommentValidator(maxTextLength: 200)

    private static func comment(_ bytes: [UInt8]) {
        switch CommentRequest.decode(from: bytes) {
        case .failure(let error):
            precondition(error.status == 400, "decoding failures are 400s")
        case .success(let request):
            // The body's own decoder accepts only what Foundation's reads the same way.
            let foundation = try? JSONDecoder().decode(CommentRequest.self, from: Data(bytes))
            precondition(
                foundation.map { [$0.text, $0.color, $0.mode, $0.size] == [request.text, request.color, request.mode, request.size] && $0.pool == request.pool } == true,
                "read differently from JSONDecoder: \(String(decoding: bytes, as: UTF8.self).debugDescription)")
            guard case .success(let draft) = validator.validate(request) else { return }
            precondition(!draft.text.isEmpty && draft.text.count <= 200, "validated text within bounds")
            if let masked = filter.masked(draft.text) {
                precondition(!filter.contains(in: masked), "masking leaves no blocked word: \(draft.text.debugDescription)")
            }
            _ = TextNormalizer.key(draft.text)
        }
    }

    /// One hub for all inputs; each input gets a fresh viewer channel. libFuzzer and the corpus
    /// replay call targets from one thread only, so the shared harness is never raced.
    nonisolated(unsafe) private static let viewerHarness = ViewerHarness()

    private static func frames(_ bytes: [UInt8]) {
        let uri = String(decoding: bytes, as: UTF8.self)
        let target = RequestTarget(uri: uri)
        _ = APIRouter.standard.route(method: .GET, path: target.path)
        _ = target.since
        viewerHarness.feed(bytes)
    }
}

/// A viewer pipeline as the server builds it (decoder, aggregator, viewer handler) on an
/// EmbeddedEventLoop: whatever comes in, what goes out must be well-formed server frames.
final class ViewerHarness {
    let loop = EmbeddedEventLoop()
    let hub: PushHub

    init() {
        let bus = MemoryBus(historyCapacity: 10)
        let logic = LogicTier(configuration: LogicConfiguration(), log: bus, bus: bus)
        // Posts would complete on a Swift task thread, which an EmbeddedEventLoop does not allow;
        // the posting path is covered by the comment target and the real-socket tests.
        var push = PushConfiguration()
        push.viewerPosts = false
        hub = PushHub(
            configuration: push, eventLoops: [loop], services: logic.viewers, moderation: logic.moderation, log: bus, bus: bus,
            logger: Logger(label: "fuzz"))
        loop.run()
    }

    func feed(_ bytes: [UInt8]) {
        let channel = EmbeddedChannel(loop: loop)
        try! ViewerPipeline.addHandlers(
            to: channel, room: RoomID("fuzz")!, since: nil, clientAddress: "10.0.0.1",
            compression: bytes.first.map { $0 & 1 == 1 } ?? false, hub: hub)
        try! channel.connect(to: SocketAddress(ipAddress: "10.0.0.1", port: 1)).wait()
        // Errors are the point of the input: the handler answers them with close frames, read below.
        _ = try? channel.writeInbound(ByteBuffer(bytes: bytes))
        loop.run()
        while let output = try? channel.readOutbound(as: ByteBuffer.self) {
            precondition(Self.isWellFormed(output), "the server wrote a malformed frame")
        }
        _ = try? channel.finish()
        loop.run()
    }

    /// Server frames: unmasked, complete, with a length that matches.
    static func isWellFormed(_ buffer: ByteBuffer) -> Bool {
        var buffer = buffer
        while buffer.readableBytes > 0 {
            guard let first: UInt8 = buffer.readInteger(), let second: UInt8 = buffer.readInteger(), second & 0x80 == 0,
                first & 0x0F != 0
            else { return false }
            var length = Int(second & 0x7F)
            if length == 126 {
                guard let extended: UInt16 = buffer.readInteger() else { return false }
                length = Int(extended)
            } else if length == 127 {
                guard let extended: UInt64 = buffer.readInteger(), extended < 1 << 40 else { return false }
                length = Int(extended)
            }
            guard buffer.readSlice(length: length) != nil else { return false }
        }
        return true
    }
}
