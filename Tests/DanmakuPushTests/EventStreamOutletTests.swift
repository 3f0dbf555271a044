import DanmakuCore
import DanmakuPush
import DanmakuTestSupport
import Foundation
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

/// An event-stream viewer (`ViewerPipeline.startEventStream`) on virtual time: events with ids,
/// comment-line pings, no idle close, and an event saying why it ends.
@Suite struct EventStreamOutletTests {
    private func streamChannel(_ harness: ViewerHarness, since: UInt64? = nil) throws -> EmbeddedChannel {
        // The stream is an HTTP answer: it leaves through NIO's response encoder.
        let channel = EmbeddedChannel(handler: HTTPResponseEncoder(), loop: harness.loop)
        try channel.connect(to: SocketAddress(ipAddress: "10.0.0.1", port: 5000)).wait()
        try ViewerPipeline.startEventStream(
            on: channel,
            EventStreamRequest(room: harness.room, since: since, epoch: nil, format: .full, clientAddress: "10.0.0.1", version: .http1_1),
            hub: harness.hub)
        return channel
    }

    /// What was written since the last call, with the body's chunk framing taken off.
    private func text(_ channel: EmbeddedChannel) throws -> String {
        var raw: [UInt8] = []
        while let part = try channel.readOutbound(as: IOData.self) {
            if case .byteBuffer(let buffer) = part { raw += buffer.readableBytesView }
        }
        let crlf = Array("\r\n".utf8)
        var rest = raw[...]
        var head: [UInt8] = []
        if rest.starts(with: Array("HTTP/1.1".utf8)), let end = rest.firstRange(of: crlf + crlf) {
            head = Array(rest[..<end.upperBound])
            rest = rest[end.upperBound...]
        }
        return String(decoding: head + ChunkedBody.decode(rest), as: UTF8.self)
    }

    @Test func theStreamStartsWithItsHeadThenHelloAndBatchesCarryIDs() async throws {
        let harness = ViewerHarness()
        let channel = try streamChannel(harness)
        let opening = try text(channel)
        #expect(opening.hasPrefix("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream"))
        #expect(opening.contains("\r\n\r\ndata: {") && opening.contains("\"type\":\"hello\""))
        try await harness.post(2)
        harness.loop.advanceTime(by: .milliseconds(10))
        let batch = try text(channel)
        let idLine = try #require(batch.split(separator: "\n").first)
        #expect(idLine.hasPrefix("id: ") && idLine.hasSuffix("2"), "the id is the seq the batch brings the reader to: \(batch)")
        #expect(batch.contains("\"type\":\"comments\""))
    }

    @Test func aSilentStreamIsPingedWithCommentLinesAndNeverClosedForSilence() throws {
        let harness = ViewerHarness { $0.pingInterval = .seconds(20); $0.idleTimeout = .seconds(60) }
        let channel = try streamChannel(harness)
        _ = try text(channel)
        harness.loop.advanceTime(by: .seconds(21))
        #expect(try text(channel) == ": ping\n\n")
        // Far past the idle timeout a WebSocket viewer would have been closed at.
        harness.loop.advanceTime(by: .seconds(200))
        #expect(channel.isActive)
        #expect(try text(channel).components(separatedBy: ": ping\n\n").count - 1 >= 9)
    }

    /// `Last-Event-ID` resumes read history like a socket's `since`: charged to the address's
    /// read budget, and once it is spent the stream ends with the refusal instead of the history.
    @Test func resumesAreChargedToTheReadBudget() async throws {
        let harness = ViewerHarness(readLimit: RateLimit(perSecond: 0.001, burst: 1))
        try await harness.post(2)
        let first = try streamChannel(harness, since: 0)
        #expect(try text(first).contains("\"type\":\"comments\""))
        let refused = try streamChannel(harness, since: 0)
        harness.loop.run()
        let answer = try text(refused)
        #expect(answer.contains("\"code\":\"rate_limited\"") && !answer.contains("\"type\":\"comments\""), "\(answer)")
        #expect(answer.contains("read budget spent"))
        #expect(!refused.isActive)
    }

    @Test func aSlowStreamEndsWithAnEventSayingWhy() throws {
        let harness = ViewerHarness()
        let channel = try streamChannel(harness)
        _ = try text(channel)
        channel.isWritable = false
        channel.pipeline.fireChannelWritabilityChanged()
        harness.loop.run()
        let ending = try text(channel)
        #expect(ending.contains("\"code\":\"closed\"") && ending.contains("slow consumer"), "\(ending)")
        #expect(!channel.isActive, "no closing handshake: the stream's end is the close")
    }
}
