// Danmaku — a live-stream bullet-comment service.

import DanmakuAuth
import DanmakuBus
import DanmakuCore
import DanmakuIngest
import DanmakuLogic
import DanmakuPush
import Foundation
import Logging
import NIOCore
import NIOEmbedded

/// A whole connection as the server builds it (`ConnectionPipeline`, the push role included, so
/// event streams and WebSocket upgrades are taken over, not answered) on a
/// `NIOAsyncTestingChannel`. The fuzzed bytes are the connection's input: any number of
/// pipelined requests, fed in pieces cut at points drawn from the input itself.
///
/// Properties: nothing traps; what the server writes is a sequence of well-formed HTTP/1.1
/// answers (error answers with a JSON code), ending where the connection stops being HTTP (a
/// 101, an event stream) or closes.
///
/// Tokens of every role signed with `secret` are in the fuzzer's dictionary
/// (`Tests/FuzzCorpus/connection.dict`), so that staff endpoints are reached past their checks.
final class ConnectionHarness: Sendable {
    /// The JWT secret the dictionary's tokens are signed with.
    static let secret = "fuzz-secret-fuzz-secret-fuzz-secret"
    let loop = NIOAsyncTestingEventLoop()
    let service: CommentService
    let rooms: RoomQueries
    let transfer: VideoPoolTransfer
    let hub: PushHub

    init() {
        let bus = MemoryBus(historyCapacity: 10)
        service = CommentService(
            configuration: LogicConfiguration(), log: bus, bus: bus, authenticator: TokenAuthenticator(secret: Self.secret))
        rooms = RoomQueries(log: bus, online: service.online)
        transfer = VideoPoolTransfer(videos: service.videos, authenticator: TokenAuthenticator(secret: Self.secret), configuration: LogicConfiguration())
        var push = PushConfiguration()
        push.nodeName = "fuzz"
        hub = PushHub(
            configuration: push, eventLoops: [loop], services: service, moderation: service.moderation, log: bus, bus: bus,
            logger: Logger(label: "fuzz"))
    }

    func check(_ bytes: [UInt8]) async {
        let channel = NIOAsyncTestingChannel(loop: loop)
        let (service, rooms, transfer, hub) = (self.service, self.rooms, self.transfer, self.hub)
        do {
            try await loop.executeInContext {
                try ConnectionPipeline.configure(
                    channel: channel, api: IngestConfiguration(), push: hub.configuration, service: service, rooms: rooms, transfer: transfer,
                    hub: hub, figures: NodeFigures(metricsText: { Array("# metrics\n".utf8) }))
            }
            try await channel.connect(to: SocketAddress(ipAddress: "10.0.0.1", port: 1))
        } catch {
            preconditionFailure("the harness could not be built: \(error)")
        }
        var pieces = Pieces(seed: bytes)
        var offset = 0
        while offset < bytes.count, channel.isActive {
            let end = min(bytes.count, offset + pieces.next())
            _ = try? await channel.writeInbound(ByteBuffer(bytes: bytes[offset..<end]))
            offset = end
            await loop.run()
        }
        var output: [UInt8] = []
        // The API's async answers complete off the loop: give them a moment.
        for _ in 0..<20 {
            await loop.run()
            while let part = try? await channel.readOutbound(as: (any Sendable).self) {
                if let data = part as? IOData, case .byteBuffer(let buffer) = data { output += buffer.readableBytesView }
                if let buffer = part as? ByteBuffer { output += buffer.readableBytesView }
            }
            try? await Task.sleep(for: .milliseconds(1))
        }
        do {
            try Self.checkAnswers(output)
        } catch {
            preconditionFailure("malformed output for \(String(decoding: bytes, as: UTF8.self).debugDescription): \(error)")
        }
        _ = try? await channel.close()
        await loop.run()
    }

    /// Checks that `bytes` is a sequence of well-formed answers; what follows a 101 or an event
    /// stream's head is that protocol's, and an incomplete last answer is allowed (the input may
    /// end while it is under way).
    static func checkAnswers(_ bytes: [UInt8]) throws {
        var rest = bytes[...]
        while !rest.isEmpty {
            guard let end = rest.firstRange(of: Array("\r\n\r\n".utf8)) else { return }
            let head = String(decoding: rest[..<end.lowerBound], as: UTF8.self)
            let (status, headers) = try HTTPHarness.parseHead(head)
            rest = rest[end.upperBound...]
            if status == 101 || headers["content-type"]?.hasPrefix("text/event-stream") == true { return }
            let body: ArraySlice<UInt8>
            if (100..<200).contains(status) || status == 204 || status == 304 {
                body = []
            } else {
                guard let length = headers["content-length"].flatMap({ Int($0) }) else { throw HTTPHarness.Malformed("an answer without Content-Length") }
                guard rest.count >= length else { return }
                body = rest.prefix(length)
                rest = rest.dropFirst(length)
            }
            if status >= 400 {
                let json = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any]
                guard (json?["error"] as? [String: Any])?["code"] is String else { throw HTTPHarness.Malformed("an error answer without a code: \(status)") }
            }
        }
    }

    /// Piece lengths (1–64 bytes) drawn from a generator seeded by the input, so a replay cuts
    /// the same input at the same points.
    struct Pieces {
        private var state: UInt64

        init(seed bytes: [UInt8]) {
            // FNV-1a of the input.
            var hash: UInt64 = 0xcbf2_9ce4_8422_2325
            for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
            state = hash
        }

        /// SplitMix64's next value, as a length of 1 to 64.
        mutating func next() -> Int {
            state &+= 0x9e37_79b9_7f4a_7c15
            var z = state
            z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
            z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
            return Int(truncatingIfNeeded: (z ^ (z >> 31)) & 63) + 1
        }
    }
}
