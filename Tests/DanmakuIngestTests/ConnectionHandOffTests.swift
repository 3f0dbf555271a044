import DanmakuIngest
import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
import Testing

/// A connection changes protocol (to an event stream, to a WebSocket) only at a clean boundary,
/// whatever was pipelined around the request that asks for it; answers a client does not read are
/// bounded; pipelining is bounded. All on the server's own pipeline (`ConnectionPipeline`).
@Suite struct ConnectionHandOffTests {
    static func get(_ path: String, _ extra: String = "") -> String {
        "GET \(path) HTTP/1.1\r\nHost: x\r\n\(extra)\r\n"
    }

    static let upgrade = get(
        "/v1/rooms/a/ws", "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n")

    /// The input that stopped a node: the event-stream hand-off took the HTTP handlers out while
    /// NIO's pipelining handler still held `/healthz`, which then reached the API handler with no
    /// encoder in front of it.
    @Test func settingsThenEventsThenHealthInOneWrite() async throws {
        let harness = ConnectionHarness()
        for _ in 0..<12 {
            let channel = try await harness.connect()
            try await channel.writeInbound(ByteBuffer(string: Self.get("/v1/rooms/a/settings") + Self.get("/v1/rooms/a/events") + Self.get("/healthz")))
            let answers = WireAnswer.all(in: try await ConnectionHarness.output(of: channel) { WireAnswer.all(in: $0).count >= 2 })
            #expect(answers.map(\.status) == [200, 200])
            #expect(answers.count == 2 && answers[1].isEventStream && answers[1].closes, "the stream is the connection's last answer")
            // What the client sends on a stream is dropped before it is parsed.
            try await channel.writeInbound(ByteBuffer(string: Self.get("/healthz") + "garbage\r\n\r\n"))
            let later = WireAnswer.all(in: try await ConnectionHarness.output(of: channel, patience: .milliseconds(50)))
            #expect(later.isEmpty)
            #expect(channel.isActive)
            _ = try? await channel.close()
        }
    }

    @Test func anEventStreamBetweenTwoRequestsAnswersTheFirstAndEndsTheConnection() async throws {
        let harness = ConnectionHarness()
        let channel = try await harness.connect()
        try await channel.writeInbound(ByteBuffer(string: Self.get("/healthz") + Self.get("/v1/rooms/a/events") + Self.get("/healthz")))
        let output = try await ConnectionHarness.output(of: channel) { String(decoding: $0, as: UTF8.self).contains("hello") }
        let answers = WireAnswer.all(in: output)
        #expect(answers.map(\.status) == [200, 200])
        #expect(answers.last?.isEventStream == true)
        let stream = String(decoding: answers.last?.body ?? [], as: UTF8.self)
        #expect(stream.contains(#""type":"hello""#), "the stream serves its viewer")
        _ = try? await channel.close()
    }

    @Test func anUpgradeWithRequestsBehindItBecomesAWebSocket() async throws {
        let harness = ConnectionHarness()
        let channel = try await harness.connect()
        try await channel.writeInbound(ByteBuffer(string: Self.upgrade + Self.get("/healthz") + Self.get("/metrics")))
        let output = try await ConnectionHarness.output(of: channel) { String(decoding: $0, as: UTF8.self).contains("hello") }
        let answers = WireAnswer.all(in: output)
        #expect(answers.map(\.status) == [101])
        let frames = String(decoding: answers.first?.body ?? [], as: UTF8.self)
        #expect(frames.contains(#""type":"hello""#))
        // The bytes behind the upgrade request are not read as HTTP: nothing answers them.
        #expect(!String(decoding: output, as: UTF8.self).contains("HTTP/1.1 200"))
        _ = try? await channel.close()
    }

    @Test func anUpgradeAfterAnotherRequestIsRefusedInOrder() async throws {
        let harness = ConnectionHarness()
        let channel = try await harness.connect()
        try await channel.writeInbound(ByteBuffer(string: Self.get("/healthz") + Self.upgrade + Self.get("/healthz")))
        let answers = WireAnswer.all(in: try await ConnectionHarness.output(of: channel) { WireAnswer.all(in: $0).count >= 2 })
        #expect(answers.count == 2)
        #expect(answers.first?.status == 200)
        #expect(answers.last.map { $0.status >= 400 && $0.closes } == true, "an upgrade is taken only as a connection's first request")
    }

    /// NIO's parser reads nothing after a request that may switch protocols, and only keeps the
    /// bytes that come: such a request is answered as the connection's last, and nothing more is
    /// read (a keep-alive answer let one connection grow the node by hundreds of MB a second).
    @Test(arguments: [
        "CONNECT a:1 HTTP/1.1\r\nHost: a\r\n\r\n",
        "POST /v1/rooms/a/comments HTTP/1.1\r\nHost: x\r\nUpgrade: foo\r\nConnection: upgrade\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n{\"text\":\"hi\"}",
        "GET /v1/rooms/a/events?since=x HTTP/1.1\r\nHost: x\r\nUpgrade: foo\r\nConnection: upgrade\r\n\r\n",
        "POST /v1/broadcast HTTP/1.1\r\nHost: x\r\nUpgrade: foo\r\nConnection: upgrade\r\nContent-Length: 2\r\n\r\n{}",
    ])
    func aRequestAfterWhichTheParserStopsIsTheConnectionsLast(request: String) async throws {
        let harness = ConnectionHarness()
        let channel = try await harness.connect()
        let reads = ReadCounter()
        try await channel.pipeline.addHandler(reads, position: .first)
        try await channel.writeInbound(ByteBuffer(string: request + Self.get("/healthz")))
        let answers = WireAnswer.all(in: try await ConnectionHarness.output(of: channel) { WireAnswer.all(in: $0).count >= 1 })
        #expect(answers.count == 1)
        #expect(answers.first?.closes == true, "\(answers.first.map { "\($0.status) \($0.headers)" } ?? "no answer")")
        await harness.loop.run()
        #expect(!channel.isActive)
    }

    /// Such a request's body may come after its head (curl --http2 sends `Upgrade: h2c` and the
    /// body in another packet): it is read, and the request answered, before nothing more is.
    @Test func aRequestThatEndsParsingIsReadToItsEnd() async throws {
        let harness = ConnectionHarness()
        let channel = try await harness.connect()
        let reads = ReadCounter()
        try await channel.pipeline.addHandler(reads, position: .first)
        try await channel.writeInbound(ByteBuffer(string:
            "POST /v1/rooms/a/comments HTTP/1.1\r\nHost: x\r\nUpgrade: h2c\r\nConnection: Upgrade, HTTP2-Settings\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n"))
        let before = reads.count.withLockedValue { $0 }
        channel.read()
        await harness.loop.run()
        #expect(reads.count.withLockedValue { $0 } > before, "the body is still read")
        try await channel.writeInbound(ByteBuffer(string: #"{"text":"hi"}"#))
        let answers = WireAnswer.all(in: try await ConnectionHarness.output(of: channel) { WireAnswer.all(in: $0).count >= 1 })
        #expect(answers.map(\.status) == [201])
        #expect(answers.first?.closes == true)
    }

    /// NIO's upgrade handler tries each protocol an `Upgrade` header names, one stack frame deeper
    /// per name: thousands of names overflowed the stack.
    @Test func anUpgradeNamingManyProtocolsIsRefused() async throws {
        let harness = ConnectionHarness()
        let channel = try await harness.connect()
        let names = Array(repeating: "a", count: 5_000).joined(separator: ",")
        try await channel.writeInbound(ByteBuffer(string: Self.get("/", "Connection: upgrade\r\nUpgrade: \(names)\r\n")))
        let answers = WireAnswer.all(in: try await ConnectionHarness.output(of: channel) { WireAnswer.all(in: $0).count >= 1 })
        #expect(answers.map(\.status) == [400])
        #expect(answers.first?.closes == true)
    }

    /// HTTP/1.0 has no chunks: its stream is unchunked, ended by the close.
    @Test func anHTTP10EventStreamIsNotChunked() async throws {
        let harness = ConnectionHarness()
        let channel = try await harness.connect()
        try await channel.writeInbound(ByteBuffer(string: "GET /v1/rooms/a/events HTTP/1.0\r\n\r\n"))
        let output = try await ConnectionHarness.output(of: channel) { String(decoding: $0, as: UTF8.self).contains("hello") }
        let text = String(decoding: output, as: UTF8.self)
        #expect(text.hasPrefix("HTTP/1.0 200 OK\r\n"))
        #expect(!text.lowercased().contains("transfer-encoding"))
        #expect(text.contains("\r\n\r\ndata: {"), "the first event right after the head: \(text.prefix(300))")
        _ = try? await channel.close()
    }

    @Test func anEventStreamAfterAnUpgradeRequestIsNeverHalfConverted() async throws {
        let harness = ConnectionHarness()
        let channel = try await harness.connect()
        try await channel.writeInbound(ByteBuffer(string: Self.get("/v1/rooms/a/events") + Self.upgrade + Self.get("/v1/rooms/a/events")))
        let answers = WireAnswer.all(in: try await ConnectionHarness.output(of: channel) { WireAnswer.all(in: $0).count >= 1 })
        #expect(answers.count == 1 && answers[0].isEventStream)
        _ = try? await channel.close()
    }

    /// A client that sends requests and reads nothing: its answers stop being made once the
    /// unwritten ones pass the bound, and the deadline closes it.
    @Test func aClientThatDoesNotReadGetsNoMoreAnswersAndIsClosedAtTheDeadline() async throws {
        let harness = ConnectionHarness()
        let channel = try await harness.connect()
        let tenMetrics = String(repeating: Self.get("/metrics"), count: 10)
        try await channel.writeInbound(ByteBuffer(string: tenMetrics))
        var answers = WireAnswer.all(in: try await ConnectionHarness.output(of: channel) { WireAnswer.all(in: $0).count >= 1 })
        #expect(answers.count >= 1)
        // The socket stops taking bytes: the channel turns unwritable, as past its high mark.
        channel.isWritable = false
        channel.pipeline.fireChannelWritabilityChanged()
        try await channel.writeInbound(ByteBuffer(string: tenMetrics))
        answers = WireAnswer.all(in: try await ConnectionHarness.output(of: channel, patience: .milliseconds(100)))
        #expect(answers.count <= 1, "at most the answer already under way when the channel turned unwritable")
        await harness.loop.advanceTime(by: harness.api.idleTimeout + .seconds(1))
        #expect(!channel.isActive, "an answer not written within the deadline closes the connection")
    }

    @Test func answersResumeWhenTheClientReadsAgain() async throws {
        let harness = ConnectionHarness()
        let channel = try await harness.connect()
        channel.isWritable = false
        channel.pipeline.fireChannelWritabilityChanged()
        try await channel.writeInbound(ByteBuffer(string: String(repeating: Self.get("/healthz"), count: 5)))
        #expect(WireAnswer.all(in: try await ConnectionHarness.output(of: channel, patience: .milliseconds(100))).isEmpty)
        channel.isWritable = true
        channel.pipeline.fireChannelWritabilityChanged()
        let answers = WireAnswer.all(in: try await ConnectionHarness.output(of: channel) { WireAnswer.all(in: $0).count >= 5 })
        #expect(answers.map(\.status) == Array(repeating: 200, count: 5))
        #expect(channel.isActive)
    }

    @Test func pipeliningPastTheBoundAnswersTheFirstRequestsThenCloses() async throws {
        let harness = ConnectionHarness()
        let channel = try await harness.connect()
        let bound = harness.api.maxParsedRequests
        // A client that is not reading: nothing is answered, and the requests pile up unanswered.
        channel.isWritable = false
        channel.pipeline.fireChannelWritabilityChanged()
        try await channel.writeInbound(ByteBuffer(string: String(repeating: Self.get("/healthz"), count: bound + 10)))
        #expect(WireAnswer.all(in: try await ConnectionHarness.output(of: channel, patience: .milliseconds(100))).isEmpty)
        channel.isWritable = true
        channel.pipeline.fireChannelWritabilityChanged()
        let answers = WireAnswer.all(in: try await ConnectionHarness.output(of: channel) { WireAnswer.all(in: $0).count >= bound })
        #expect(answers.count == bound)
        #expect(answers.allSatisfy { $0.status == 200 })
        #expect(!channel.isActive)
    }

    /// At the read bound the connection is not read: what comes after waits in the socket.
    @Test func theConnectionIsNotReadWhileTheBoundIsUnanswered() async throws {
        let harness = ConnectionHarness()
        let channel = try await harness.connect()
        let reads = ReadCounter()
        try await channel.pipeline.addHandler(reads, position: .first)
        channel.isWritable = false
        channel.pipeline.fireChannelWritabilityChanged()
        try await channel.writeInbound(ByteBuffer(string: String(repeating: Self.get("/healthz"), count: harness.api.maxPipelinedRequests)))
        let before = reads.count.withLockedValue { $0 }
        channel.read()
        await harness.loop.run()
        #expect(reads.count.withLockedValue { $0 } == before, "no read reaches the socket")
        channel.isWritable = true
        channel.pipeline.fireChannelWritabilityChanged()
        _ = try await ConnectionHarness.output(of: channel) { WireAnswer.all(in: $0).count >= harness.api.maxPipelinedRequests }
        #expect(reads.count.withLockedValue { $0 } > before, "reading resumes once answers end")
        #expect(channel.isActive)
    }

    @Test func pipeliningWithinTheBoundKeepsTheConnection() async throws {
        let harness = ConnectionHarness()
        let channel = try await harness.connect()
        let bound = harness.api.maxPipelinedRequests
        for _ in 0..<3 {
            try await channel.writeInbound(ByteBuffer(string: String(repeating: Self.get("/healthz"), count: bound)))
        }
        let answers = WireAnswer.all(in: try await ConnectionHarness.output(of: channel) { WireAnswer.all(in: $0).count >= 3 * bound })
        #expect(answers.count == 3 * bound)
        #expect(channel.isActive)
    }
}

/// Counts the reads that reach the socket.
final class ReadCounter: ChannelOutboundHandler, Sendable {
    typealias OutboundIn = Never
    let count = NIOLockedValueBox(0)

    func read(context: ChannelHandlerContext) {
        count.withLockedValue { $0 += 1 }
        context.read()
    }
}
