import DanmakuBench
import NIOCore
import NIOEmbedded
import Testing

@Suite struct PublisherTests {
    /// A server over its per-address cap answers a connection before it posts anything (429 and
    /// a close); the publisher counts that as refused instead of trapping on an empty queue.
    @Test func anAnswerToNoPostIsCountedAsRefused() throws {
        let publisher = Publisher(rooms: ["r"], ratePerSecond: 10, textBytes: 10, firstRoom: 0)
        let channel = EmbeddedChannel(handler: publisher)
        let body = #"{"error":{"code":"too_many_connections"}}"#
        try channel.writeInbound(ByteBuffer(string:
            "HTTP/1.1 429 Too Many Requests\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)"))
        #expect(publisher.totals.rejected == [429: 1])
        #expect(publisher.totals.accepted == 0)
        _ = try? channel.finish()
    }
}
