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
        try channel.writeOutbound(RedisRequest(command: command, promise: promise, deadline: .now() + .seconds(60)))
        return promise.futureResult
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
