@testable import DanmakuRedis
import NIOCore
import NIOEmbedded
import Synchronization
import Testing

/// Answers and pushes on one pipelined connection, fed by hand.
@Suite struct RedisCommandHandlerTests {
    /// What reached `onMessage` and `onUnsubscribed`.
    final class Seen: Sendable {
        let lines = Mutex<[String]>([])
        func append(_ line: String) { lines.withLock { $0.append(line) } }
        var all: [String] { lines.withLock { $0 } }
    }

    /// A handler on an embedded channel, and what it passed on that was not an answer.
    func channel() throws -> (EmbeddedChannel, Seen) {
        let seen = Seen()
        let handler = RedisCommandHandler(
            onMessage: { channel, payload in seen.append("message \(String(buffer: channel)) \(String(buffer: payload))") },
            onUnsubscribed: { channel in seen.append("dropped \(String(buffer: channel))") })
        return (EmbeddedChannel(handler: handler), seen)
    }

    func send(_ channel: EmbeddedChannel, _ command: RESPCommand) throws -> EventLoopFuture<RESPValue> {
        let promise = channel.eventLoop.makePromise(of: RESPValue.self)
        // Not `writeOutbound`, which waits for the write: the flush waits for the end of the loop's turn.
        channel.writeAndFlush(RedisRequest(command: command, promise: promise, deadline: .now() + .seconds(60)), promise: nil)
        channel.embeddedEventLoop.run()
        return promise.futureResult
    }

    @Test func commandsWrittenInOneTurnOfTheLoopLeaveWithOneFlush() throws {
        let (channel, _) = try channel()
        let flushes = FlushCounter()
        try channel.pipeline.syncOperations.addHandler(flushes, position: .first)
        let promises = (0..<3).map { _ in channel.eventLoop.makePromise(of: RESPValue.self) }
        for promise in promises {
            channel.writeAndFlush(RedisRequest(command: RESPCommand("PING"), promise: promise, deadline: .now() + .seconds(60)), promise: nil)
        }
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil, "nothing leaves before the turn ends")
        channel.embeddedEventLoop.run()
        var written = ""
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) { written += String(buffer: buffer) }
        #expect(written == String(repeating: "*1\r\n$4\r\nPING\r\n", count: 3))
        #expect(flushes.count == 1, "one flush for the three commands")
        for _ in promises { try channel.writeInbound(RESPValue.simpleString("PONG")) }
        for promise in promises { #expect(try promise.futureResult.wait() == .simpleString("PONG")) }
    }

    func reply(_ kind: String, _ channelName: String, _ count: Int64) -> RESPValue {
        .array([.bulkString(ByteBuffer(string: kind)), .bulkString(ByteBuffer(string: channelName)), .integer(count)])
    }

    @Test func aSunsubscribeNobodyAskedForIsTheServerDroppingAChannel() throws {
        let (channel, seen) = try channel()
        // SSUBSCRIBE b is waiting when the server drops channel a (its slot moved away).
        let subscribed = try send(channel, RESPCommand("SSUBSCRIBE", ["b"]))
        try channel.writeInbound(reply("sunsubscribe", "a", 0))
        #expect(seen.all == ["dropped a"])
        #expect(try channel.readOutbound(as: ByteBuffer.self) != nil)
        try channel.writeInbound(reply("ssubscribe", "b", 1))
        #expect(try subscribed.wait() == reply("ssubscribe", "b", 1), "the answer goes to the command that asked")
    }

    @Test func aSunsubscribeThatAnswersOneIsThatAnswer() throws {
        let (channel, seen) = try channel()
        let unsubscribed = try send(channel, RESPCommand("SUNSUBSCRIBE", ["a"]))
        try channel.writeInbound(reply("sunsubscribe", "a", 0))
        #expect(try unsubscribed.wait() == reply("sunsubscribe", "a", 0))
        #expect(seen.all.isEmpty)
    }

    @Test func messagesAreNotAnswers() throws {
        let (channel, seen) = try channel()
        let pinged = try send(channel, RESPCommand("PING"))
        try channel.writeInbound(RESPValue.array([.bulkString(ByteBuffer(string: "smessage")), .bulkString(ByteBuffer(string: "c")), .bulkString(ByteBuffer(string: "p"))]))
        try channel.writeInbound(RESPValue.simpleString("PONG"))
        #expect(try pinged.wait() == .simpleString("PONG"))
        #expect(seen.all == ["message c p"])
    }
}

/// Counts the flushes that reach the socket.
private final class FlushCounter: ChannelOutboundHandler {
    typealias OutboundIn = ByteBuffer
    var count = 0

    func flush(context: ChannelHandlerContext) {
        count += 1
        context.flush()
    }
}
