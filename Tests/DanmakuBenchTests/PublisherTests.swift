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

    /// At an infinite rate the publisher keeps exactly its in-flight bound waiting: each answer
    /// sends the next post at once, without waiting for its pacing tick.
    @Test func atAnInfiniteRateEachAnswerSendsTheNextPost() throws {
        let publisher = Publisher(rooms: ["r"], ratePerSecond: .infinity, textBytes: 10, firstRoom: 0, maxInFlight: 4)
        let channel = EmbeddedChannel(handler: publisher)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(1))
        func postsWritten() throws -> Int {
            var count = 0
            while let buffer = try channel.readOutbound(as: ByteBuffer.self) {
                count += String(buffer: buffer).components(separatedBy: "POST ").count - 1
            }
            return count
        }
        #expect(try postsWritten() == 4)
        let body = #"{"seq":1}"#
        let answer = "HTTP/1.1 201 Created\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
        try channel.writeInbound(ByteBuffer(string: answer + answer))
        #expect(try postsWritten() == 2, "two answers, two more posts, before any tick")
        #expect(publisher.totals.accepted == 2 && publisher.totals.sent == 6)
        // Stopped, its answers still count and send nothing more: the drain's target holds still.
        publisher.stop()
        try channel.writeInbound(ByteBuffer(string: answer + answer))
        #expect(try postsWritten() == 0, "no post after stop")
        #expect(publisher.totals.accepted == 4 && publisher.totals.sent == 6)
        _ = try? channel.finish()
    }

    /// Against Nchan the publisher posts, to its own rooms only, the frame a viewer should see,
    /// numbering each room's comments itself; Nchan's 202 (no subscriber yet) counts as taken,
    /// and the seqs it took are where the rooms end.
    @Test func againstNchanItNumbersItsOwnRoomsAndPostsTheirFrames() throws {
        let publisher = Publisher(
            rooms: ["a", "b", "c", "d"], ratePerSecond: .infinity, textBytes: 10, firstRoom: 1, maxInFlight: 4, target: .nchan,
            roomStride: 2)
        let channel = EmbeddedChannel(handler: publisher)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(1))
        var written = ""
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) { written += String(buffer: buffer) }
        let requests = written.components(separatedBy: "POST ").dropFirst()
        #expect(requests.map { String($0.prefix(7)) } == ["/pub/b ", "/pub/d ", "/pub/b ", "/pub/d "])
        #expect(requests.map { $0.contains(#"{"type":"comments","room":"#) && $0.contains(#""text":"b"#) } == [true, true, true, true])
        #expect(requests.map { $0.components(separatedBy: #""seq":"#)[1].prefix { $0.isNumber } } == ["1", "1", "2", "2"])
        let answers = ["202 Accepted", "201 Created", "201 Created", "500 Internal Server Error"]
            .map { "HTTP/1.1 \($0)\r\nContent-Length: 0\r\n\r\n" }.joined()
        try channel.writeInbound(ByteBuffer(string: answers))
        #expect(publisher.totals.accepted == 3 && publisher.totals.rejected == [500: 1])
        #expect(publisher.totals.maxSeq == [1: 2, 3: 1], "room d's second post was refused")
        publisher.stop()
        _ = try? channel.finish()
    }
}
