import Foundation
import NIOCore
import NIOConcurrencyHelpers
import NIOPosix

/// A WebSocket viewer written from RFC 6455 for tests: its own handshake and frame parser,
/// sharing nothing with the server. Records every frame and every comment's seq.
public final class TestViewer: Sendable {
    public struct State: Sendable {
        /// The handshake answer (101 on success; a JSON error otherwise).
        public var handshake: HTTPReply?
        /// Status of the handshake answer (101 on success).
        public var handshakeStatus: Int? { handshake?.status }
        /// Every frame after the handshake, in arrival order.
        public var frames: [ParsedFrame] = []
        /// Seqs of all comments received, in arrival order.
        public var seqs: [UInt64] = []
        /// Number of `comments` frames.
        public var batches = 0
        public var closed = false

        /// Text frames decoded as JSON objects.
        public var messages: [[String: Any]] {
            frames.filter { $0.opcode == 0x1 }.compactMap {
                (try? JSONSerialization.jsonObject(with: Data($0.payload))) as? [String: Any]
            }
        }

        /// The close code the server sent, if it did.
        public var closeCode: UInt16? { frames.first { $0.opcode == 0x8 }?.closeCode }
    }

    /// The viewer's state (frames, seqs), updated as frames arrive.
    public let observed: Observed<State>
    private let channel: any Channel

    /// Connects and sends the upgrade request for `path` (e.g. `/v1/rooms/r1/ws?since=3`).
    public static func connect(port: Int, path: String, extraHeaders: String = "") async throws -> TestViewer {
        let request = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\(extraHeaders)\r\n"
        return try await connect(port: port, request: request)
    }

    /// Connects and sends `request` as it is (for malformed upgrade requests).
    public static func connect(port: Int, request: String) async throws -> TestViewer {
        let state = Observed(State())
        let channel = try await ClientBootstrap(group: TestConnection.group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ViewerCollector(state: state))
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        let viewer = TestViewer(channel: channel, state: state)
        try await channel.writeAndFlush(ByteBuffer(string: request))
        return viewer
    }

    private init(channel: any Channel, state: Observed<State>) {
        self.channel = channel
        self.observed = state
    }

    /// Connects to a room and waits for `hello`.
    public static func join(port: Int, room: String, since: UInt64? = nil, query: String? = nil) async throws -> TestViewer {
        let viewer = try await connect(port: port, path: "/v1/rooms/\(room)/ws" + (since.map { "?since=\($0)" } ?? query.map { "?\($0)" } ?? ""))
        try await viewer.observed.wait(for: "hello in \(room)") { $0.frames.contains { $0.opcode == 0x1 } || $0.closed }
        return viewer
    }

    /// Sends a masked client frame.
    public func send(opcode: UInt8 = 0x1, _ payload: [UInt8], masked: Bool = true, fin: Bool = true, rsv1: Bool = false) async throws {
        try await channel.writeAndFlush(clientFrame(opcode: opcode, payload: payload, fin: fin, masked: masked, rsv1: rsv1))
    }

    /// Sends bytes as they are (several frames in one write, say).
    public func send(raw bytes: ByteBuffer) async throws {
        try await channel.writeAndFlush(bytes)
    }

    public func sendText(_ text: String) async throws {
        try await send(Array(text.utf8))
    }

    /// Waits until `count` comments have arrived.
    public func waitForComments(_ count: Int, timeout: Duration = .seconds(30)) async throws {
        try await observed.wait(for: "\(count) comments", timeout: timeout) { $0.seqs.count >= count || $0.closed }
    }

    public func waitForClose(timeout: Duration = .seconds(20)) async throws {
        try await observed.wait(for: "close", timeout: timeout) { $0.closed }
    }

    public func close() async {
        try? await channel.close()
    }

    private final class ViewerCollector: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let state: Observed<State>
        private let pending = NIOLockedBuffer()

        init(state: Observed<State>) {
            self.state = state
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var chunk = unwrapInboundIn(data)
            pending.withBuffer { buffer in
                buffer.writeBuffer(&chunk)
                var parsed: [ParsedFrame] = []
                var handshake: HTTPReply?
                if state.value.handshake == nil {
                    let bytes = Array(buffer.readableBytesView)
                    guard let (reply, length) = HTTPReply.parse(bytes) else { return }
                    handshake = reply
                    buffer.moveReaderIndex(forwardBy: length)
                }
                while let frame = ParsedFrame.parseOne(&buffer) { parsed.append(frame) }
                buffer.discardReadBytes()
                var seqs: [UInt64] = []
                var batches = 0
                for frame in parsed where frame.opcode == 0x1 {
                    guard let object = (try? JSONSerialization.jsonObject(with: Data(frame.payload))) as? [String: Any],
                        object["type"] as? String == "comments", let comments = object["comments"] as? [[String: Any]]
                    else { continue }
                    batches += 1
                    seqs += comments.compactMap { ($0["seq"] as? NSNumber)?.uint64Value }
                }
                // A well-behaved client answers the server's close frame with its own.
                if let close = parsed.first(where: { $0.opcode == 0x8 }) {
                    context.writeAndFlush(NIOAny(clientFrame(opcode: 0x8, payload: Array(close.payload.prefix(2)))), promise: nil)
                }
                state.update { state in
                    if let handshake { state.handshake = handshake }
                    state.frames += parsed
                    state.seqs += seqs
                    state.batches += batches
                }
            }
        }

        func channelInactive(context: ChannelHandlerContext) {
            state.update { $0.closed = true }
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            context.close(promise: nil)
        }
    }
}

/// A byte buffer behind a lock (touched only from one channel's loop, but the handler is Sendable).
private final class NIOLockedBuffer: Sendable {
    private let box = NIOLockedValueBox(ByteBuffer())
    func withBuffer(_ body: (inout ByteBuffer) -> Void) { box.withLockedValue(body) }
}
