import DanmakuIngest
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

/// The request deadline on virtual time: what closes a connection, and what does not.
@Suite struct RequestDeadlineTests {
    private let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: "/healthz")

    private func connection() throws -> (EmbeddedChannel, EmbeddedEventLoop) {
        let loop = EmbeddedEventLoop()
        let channel = EmbeddedChannel(handler: RequestDeadline(timeout: .seconds(5)), loop: loop)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        return (channel, loop)
    }

    @Test func aSilentConnectionIsClosedAtTheDeadlineAndNotBefore() throws {
        let (channel, loop) = try connection()
        loop.advanceTime(by: .milliseconds(4999))
        #expect(channel.isActive)
        loop.advanceTime(by: .milliseconds(1))
        #expect(!channel.isActive)
    }

    @Test func tricklingAHeadOrABodyDoesNotExtendIt() throws {
        let (channel, loop) = try connection()
        try channel.writeInbound(HTTPServerRequestPart.head(head))
        for _ in 0..<4 {
            loop.advanceTime(by: .seconds(1))
            try channel.writeInbound(HTTPServerRequestPart.body(ByteBuffer(string: "x")))
        }
        #expect(channel.isActive)
        loop.advanceTime(by: .seconds(1))
        #expect(!channel.isActive, "a body that never ends is cut off at the deadline")
    }

    @Test func aRequestBeingAnsweredIsNotTimedAndTheNextOneGetsAFreshDeadline() throws {
        let (channel, loop) = try connection()
        loop.advanceTime(by: .seconds(4))
        try channel.writeInbound(HTTPServerRequestPart.head(head))
        try channel.writeInbound(HTTPServerRequestPart.end(nil))
        // The answer takes long (a slow store, say): the connection stays.
        loop.advanceTime(by: .seconds(60))
        #expect(channel.isActive)
        try channel.writeOutbound(HTTPServerResponsePart.head(HTTPResponseHead(version: .http1_1, status: .ok)))
        try channel.writeOutbound(HTTPServerResponsePart.end(nil))
        // An idle keep-alive has the full deadline again from the end of the answer.
        loop.advanceTime(by: .milliseconds(4999))
        #expect(channel.isActive)
        loop.advanceTime(by: .milliseconds(1))
        #expect(!channel.isActive)
    }

    @Test func removingItStopsTheClock() throws {
        let (channel, loop) = try connection()
        let deadline = try channel.pipeline.syncOperations.handler(type: RequestDeadline.self)
        try channel.pipeline.syncOperations.removeHandler(deadline).wait()
        loop.advanceTime(by: .seconds(60))
        #expect(channel.isActive, "an upgraded viewer is not an HTTP connection")
    }
}
