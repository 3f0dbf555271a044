import DanmakuBus
import DanmakuCore
import DanmakuIngest
import DanmakuLogic
import DanmakuPush
import Foundation
import Logging
import NIOCore
import NIOEmbedded

/// Connections built as the server builds them (`ConnectionPipeline`), with the push role, on a
/// testing loop whose clock the test moves; the API's async work completes on it from any thread.
final class ConnectionHarness: Sendable {
    let loop = NIOAsyncTestingEventLoop()
    let service: LogicTier
    let hub: PushHub
    let api: IngestConfiguration

    /// - Parameters:
    ///   - authenticator: who may post and moderate (open mode by default).
    ///   - logic: the logic tier's settings (its defaults unless a test changes them).
    init(
        authenticator: (any PostAuthenticator)? = nil, logic: LogicConfiguration = LogicConfiguration(),
        adjust: (inout IngestConfiguration) -> Void = { _ in }
    ) {
        let bus = MemoryBus(historyCapacity: 100)
        service = authenticator.map { LogicTier(configuration: logic, log: bus, bus: bus, authenticator: $0) }
            ?? LogicTier(configuration: logic, log: bus, bus: bus)
        var push = PushConfiguration()
        push.nodeName = "test"
        hub = PushHub(
            configuration: push, eventLoops: [loop], services: service.viewers, moderation: service.moderation, log: bus, bus: bus,
            logger: Logger(label: "test"))
        var api = IngestConfiguration()
        adjust(&api)
        self.api = api
    }

    /// A connected channel with the server's pipeline.
    func connect() async throws -> NIOAsyncTestingChannel {
        let channel = NIOAsyncTestingChannel(loop: loop)
        let (api, service, hub) = (self.api, self.service, self.hub)
        try await loop.executeInContext {
            try ConnectionPipeline.configure(
                channel: channel, api: api, push: hub.configuration, logic: service, hub: hub,
                figures: NodeFigures(metricsText: { Array(repeating: UInt8(ascii: "#"), count: 20_000) + [10] }))
        }
        try await channel.connect(to: SocketAddress(ipAddress: "10.0.0.1", port: 5000))
        return channel
    }

    /// Every byte written so far, after the loop has run and async answers have had up to
    /// `patience` to come, stopping early once `enough` holds.
    static func output(
        of channel: NIOAsyncTestingChannel, patience: Duration = .seconds(30), until enough: ([UInt8]) -> Bool = { _ in false }
    ) async throws -> [UInt8] {
        var bytes: [UInt8] = []
        let deadline = ContinuousClock.now + patience
        repeat {
            await channel.testingEventLoop.run()
            // HTTP answers leave NIO's encoder as IOData; WebSocket frames as ByteBuffers.
            while let part = try await channel.readOutbound(as: (any Sendable).self) {
                if let data = part as? IOData, case .byteBuffer(let buffer) = data {
                    bytes += buffer.readableBytesView
                } else if let buffer = part as? ByteBuffer {
                    bytes += buffer.readableBytesView
                }
            }
            if enough(bytes) { break }
            try await Task.sleep(for: .milliseconds(2))
        } while ContinuousClock.now < deadline
        return bytes
    }
}

/// One HTTP answer as read off the wire.
struct WireAnswer {
    var status: Int
    var headers: [String: String]
    var body: [UInt8]

    var closes: Bool { headers["connection"]?.lowercased() == "close" }
    var isEventStream: Bool { headers["content-type"]?.hasPrefix("text/event-stream") == true }

    /// The answers at the start of `bytes`, in order; an event stream or a 101 ends the HTTP part
    /// (its body is what follows).
    static func all(in bytes: [UInt8]) -> [WireAnswer] {
        var answers: [WireAnswer] = []
        var rest = bytes[...]
        while let end = rest.firstRange(of: Array("\r\n\r\n".utf8)) {
            let lines = String(decoding: rest[..<end.lowerBound], as: UTF8.self).components(separatedBy: "\r\n")
            let statusLine = lines[0].split(separator: " ")
            guard statusLine.count >= 2, let status = Int(statusLine[1]) else { break }
            var headers: [String: String] = [:]
            for line in lines.dropFirst() {
                let parts = line.split(separator: ":", maxSplits: 1)
                if parts.count == 2 { headers[parts[0].lowercased()] = parts[1].trimmingCharacters(in: .whitespaces) }
            }
            var answer = WireAnswer(status: status, headers: headers, body: [])
            rest = rest[end.upperBound...]
            if status == 101 || answer.isEventStream {
                answer.body = Array(rest)
                answers.append(answer)
                break
            }
            let length = headers["content-length"].flatMap { Int($0) } ?? 0
            guard rest.count >= length else { break }
            answer.body = Array(rest.prefix(length))
            rest = rest.dropFirst(length)
            answers.append(answer)
        }
        return answers
    }
}

