import DanmakuBus
import DanmakuCore
import DanmakuLogic
import DanmakuPush
import DanmakuTestSupport
import Foundation
import Logging
import NIOCore
import NIOEmbedded
import NIOHTTP1
import NIOWebSocket
import Testing

/// Drives a `ViewerHandler` in an `EmbeddedChannel` behind NIO's real frame decoder: bytes in,
/// bytes out, virtual time, no sockets.
final class ViewerHarness {
    let loop = EmbeddedEventLoop()
    let bus: MemoryBus
    let hub: PushHub
    let room = RoomID("r1")!
    var push = PushConfiguration()

    init(window: Int = 10, history: Int = 100, readLimit: RateLimit? = nil, adjust: (inout PushConfiguration) -> Void = { _ in }) {
        push.batchWindowMilliseconds = window
        push.nodeName = "test-node"
        adjust(&push)
        bus = MemoryBus(historyCapacity: history)
        var logic = LogicConfiguration()
        logic.userLimit = RateLimit(perSecond: 1000, burst: 1000)
        if let readLimit { logic.readLimit = readLimit }
        let service = LogicTier(configuration: logic, log: bus, bus: bus)
        hub = PushHub(configuration: push, eventLoops: [loop], services: service.viewers, moderation: service.moderation, log: bus, bus: bus, logger: Logger(label: "test"))
        loop.run()
    }

    /// A connected viewer channel (its hello not yet read).
    func connect(since: UInt64? = nil, compression: Bool = false, format: WireFormat = .full) throws -> EmbeddedChannel {
        try Self.viewerChannel(loop: loop, room: room, since: since, compression: compression, format: format, hub: hub)
    }

    /// A viewer channel built as the server builds one (`ViewerPipeline`); connected, its hello
    /// not yet read.
    static func viewerChannel(
        loop: EmbeddedEventLoop, room: RoomID, since: UInt64? = nil, compression: Bool = false, format: WireFormat = .full,
        hub: PushHub
    ) throws -> EmbeddedChannel {
        let channel = EmbeddedChannel(loop: loop)
        try ViewerPipeline.addHandlers(
            to: channel, room: room, since: since, clientAddress: "10.0.0.1", compression: compression, hub: hub, format: format)
        try channel.connect(to: SocketAddress(ipAddress: "10.0.0.1", port: 5000)).wait()
        return channel
    }

    /// Stores and publishes `count` comments, as the logic tier does.
    func post(_ count: Int, text: String = "hello") async throws {
        for _ in 0..<count {
            let unnumbered = Comment(
                seq: 0, id: UUID().uuidString, room: room.value, user: CommentAuthor(id: "u", name: "U"),
                text: text, color: "#ffffff", mode: .scroll, ts: 0
            ).unnumberedJSON()
            let stored = try await bus.append(room: room, unnumbered: unnumbered)
            try await bus.publish([stored], room: room)
        }
        loop.run()
    }

    func frames(_ channel: EmbeddedChannel) throws -> [ParsedFrame] {
        var frames: [ParsedFrame] = []
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) {
            guard let parsed = ParsedFrame.parseAll(buffer) else { throw HarnessError.truncatedFrame }
            frames += parsed
        }
        return frames
    }

    enum HarnessError: Error { case truncatedFrame }
}

/// The `seq`s of a `comments` message.
func seqs(_ frame: ParsedFrame) throws -> [UInt64] {
    let object = try JSONSerialization.jsonObject(with: Data(frame.payload)) as! [String: Any]
    #expect(object["type"] as? String == "comments")
    return (object["comments"] as! [[String: Any]]).map { ($0["seq"] as! NSNumber).uint64Value }
}

func json(_ frame: ParsedFrame) throws -> [String: Any] {
    try JSONSerialization.jsonObject(with: Data(frame.payload)) as! [String: Any]
}

@Suite struct ViewerHandlerTests {
    /// What NIO's upgrade handler hands on after an upgrade may be requests the client pipelined
    /// behind it (when NIO's parser went on past the upgrade request): the viewer's connection is
    /// failed with a close frame, never a request taken for bytes (a trap, found by fuzzing).
    @Test func aRequestHandedOnAfterTheUpgradeFailsTheConnection() throws {
        let harness = ViewerHarness()
        let channel = try harness.connect()
        harness.loop.run()
        while try channel.readOutbound(as: ByteBuffer.self) != nil {}
        try channel.writeInbound(HTTPServerRequestPart.head(HTTPRequestHead(version: .http1_1, method: .GET, uri: "/healthz")))
        harness.loop.run()
        let close = try #require(try channel.readOutbound(as: ByteBuffer.self))
        #expect(close.getInteger(at: close.readerIndex, as: UInt8.self) == 0x88, "a close frame")
    }

    @Test func sendsHelloFirst() throws {
        let harness = ViewerHarness()
        let channel = try harness.connect()
        let frames = try harness.frames(channel)
        #expect(frames.count == 1)
        let hello = try json(frames[0])
        #expect(hello["type"] as? String == "hello")
        #expect(hello["room"] as? String == "r1")
        #expect(hello["node"] as? String == "test-node")
        #expect(hello["lastSeq"] as? Int == 0)
        #expect(hello["batchWindowMs"] as? Int == 10)
        #expect(frames[0].opcode == 0x1 && frames[0].fin)
    }

    @Test func batchesAWindowOfCommentsIntoOneFrame() async throws {
        let harness = ViewerHarness(window: 10)
        let channel = try harness.connect()
        _ = try harness.frames(channel)
        try await harness.post(5)
        #expect(try harness.frames(channel).isEmpty, "nothing is sent before the window closes")
        harness.loop.advanceTime(by: .milliseconds(10))
        let frames = try harness.frames(channel)
        #expect(frames.count == 1)
        #expect(try seqs(frames[0]) == [1, 2, 3, 4, 5])
    }

    /// After a Redis failover a withdrawn comment's seq can belong to an accepted one: the
    /// retraction takes out only the comment with its id, waiting or yet to come.
    @Test func aRetractionOfAnotherCommentWithTheSameSeqLeavesTheAcceptedOne() async throws {
        let harness = ViewerHarness(window: 10)
        let channel = try harness.connect()
        _ = try harness.frames(channel)
        harness.hub.retract(seq: 1, id: "withdrawn-before", room: harness.room, seqReused: true, reason: nil)
        harness.loop.run()
        try await harness.post(2)
        harness.hub.retract(seq: 2, id: "withdrawn-while-waiting", room: harness.room, seqReused: true, reason: nil)
        harness.loop.run()
        harness.loop.advanceTime(by: .milliseconds(10))
        let frames = try harness.frames(channel)
        let retracted = try frames.map(json).filter { $0["type"] as? String == "retract" }.compactMap { $0["id"] as? String }
        #expect(retracted == ["withdrawn-before", "withdrawn-while-waiting"], "viewers are told, by id")
        #expect(try frames.filter { try json($0)["type"] as? String == "comments" }.flatMap(seqs) == [1, 2])
    }

    /// A comment stored (answered 201) whose publish the bus lost: once the reorder timeout has
    /// passed, the push node reads it from history and viewers get it in order, not a hole.
    @Test func aCommentWhosePublishWasLostIsReadFromHistoryInOrder() async throws {
        let harness = ViewerHarness(window: 10)
        let channel = try harness.connect()
        _ = try harness.frames(channel)
        let lost = Comment(
            seq: 0, id: "lost-publish", room: harness.room.value, user: CommentAuthor(id: "u", name: "U"), text: "stored, never published",
            color: "#ffffff", mode: .scroll, ts: 0
        ).unnumberedJSON()
        _ = try await harness.bus.append(room: harness.room, unnumbered: lost)
        try await harness.post(1)
        harness.loop.advanceTime(by: .milliseconds(10))
        #expect(try harness.frames(channel).filter { try json($0)["type"] as? String == "comments" }.isEmpty, "seq 2 waits for seq 1")
        // The sweep runs every second; the reorder timeout is 2 s.
        for _ in 0..<4 {
            harness.loop.advanceTime(by: .seconds(1))
            harness.loop.run()
        }
        harness.loop.advanceTime(by: .milliseconds(10))
        let frames = try harness.frames(channel)
        #expect(try frames.filter { try json($0)["type"] as? String == "comments" }.flatMap(seqs) == [1, 2])
        #expect(try frames.map(json).allSatisfy { $0["type"] as? String != "gap" }, "nothing was lost: no gap")
    }

    /// A lost publish whose comment history has meanwhile trimmed: the viewers are told `gap`
    /// for it (never a silent hole), then get what follows.
    @Test func aLostCommentHistoryNoLongerHoldsIsDeclaredAGap() async throws {
        let harness = ViewerHarness(window: 10, history: 3)
        let channel = try harness.connect()
        _ = try harness.frames(channel)
        let lost = Comment(
            seq: 0, id: "lost", room: harness.room.value, user: CommentAuthor(id: "u", name: "U"), text: "never published",
            color: "#ffffff", mode: .scroll, ts: 0
        ).unnumberedJSON()
        _ = try await harness.bus.append(room: harness.room, unnumbered: lost)
        try await harness.post(5)
        for _ in 0..<4 {
            harness.loop.advanceTime(by: .seconds(1))
            harness.loop.run()
        }
        harness.loop.advanceTime(by: .milliseconds(10))
        let messages = try harness.frames(channel).map(json)
        let gaps = messages.filter { $0["type"] as? String == "gap" }
        #expect(gaps.count == 1 && gaps.first?["from"] as? Int == 1 && gaps.first?["to"] as? Int == 1, "\(gaps)")
        let delivered = messages.filter { $0["type"] as? String == "comments" }
            .flatMap { ($0["comments"] as? [[String: Any]] ?? []).compactMap { $0["seq"] as? Int } }
        #expect(delivered == [2, 3, 4, 5, 6])
    }

    /// A comment a failover numbered with a seq the viewers were already sent (to another
    /// comment): it cannot come in order any more, so they are told a `gap` of its seq, and the
    /// order goes on; one for a seq still awaited takes its place in the order.
    @Test func aCommentNumberedAgainBehindTheViewersIsToldAsAGap() async throws {
        let harness = ViewerHarness(window: 10)
        let channel = try harness.connect()
        _ = try harness.frames(channel)
        try await harness.post(2)
        harness.loop.advanceTime(by: .milliseconds(10))
        #expect(try harness.frames(channel).filter { try json($0)["type"] as? String == "comments" }.flatMap(seqs) == [1, 2])
        let again = Comment(
            seq: 2, id: "numbered-again", room: harness.room.value, user: CommentAuthor(id: "u", name: "U"), text: "second holder",
            color: "#ffffff", mode: .scroll, ts: 0
        )
        harness.hub.renumbered([try EncodedComment(again, room: harness.room)], room: harness.room)
        harness.loop.run()
        let messages = try harness.frames(channel).map(json)
        #expect(messages.count == 1 && messages.first?["type"] as? String == "gap", "\(messages)")
        #expect(messages.first?["from"] as? Int == 2 && messages.first?["to"] as? Int == 2)
        try await harness.post(1)
        harness.loop.advanceTime(by: .milliseconds(10))
        #expect(try harness.frames(channel).filter { try json($0)["type"] as? String == "comments" }.flatMap(seqs) == [3])
    }

    @Test func sameBytesGoToEveryViewer() async throws {
        let harness = ViewerHarness(window: 10)
        let viewers = try (0..<3).map { _ in try harness.connect() }
        for viewer in viewers { _ = try harness.frames(viewer) }
        try await harness.post(3)
        harness.loop.advanceTime(by: .milliseconds(10))
        var outputs: [ByteBuffer] = []
        for viewer in viewers { outputs.append(try #require(try viewer.readOutbound(as: ByteBuffer.self))) }
        #expect(outputs.allSatisfy { $0 == outputs[0] })
        // Encode once: the three writes share one storage, not three copies.
        let addresses = outputs.map { buffer in buffer.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) } }
        #expect(Set(addresses).count == 1)
    }

    @Test func aBusyRoomsWindowWidensWithinTheBudgetAndHelloSaysSo() async throws {
        // A budget of 1,000 frames/s; 50 viewers of a room taking 200 comments/s would need
        // 5,000 at the 10 ms floor: its window widens to 50 ms.
        let harness = ViewerHarness(window: 10) { $0.maxSendsPerSecond = 1000 }
        let viewers = try (0..<50).map { _ in try harness.connect() }
        #expect(try json(try harness.frames(viewers[49])[0])["batchWindowMs"] as? Int == 10, "a quiet room keeps the floor")
        for viewer in viewers.dropLast() { _ = try harness.frames(viewer) }
        try await harness.post(20)
        harness.loop.advanceTime(by: .milliseconds(100))
        for viewer in viewers { _ = try harness.frames(viewer) }
        let late = try harness.connect()
        #expect(try json(try harness.frames(late)[0])["batchWindowMs"] as? Int == 50)
        try await harness.post(3)
        harness.loop.advanceTime(by: .milliseconds(40))
        #expect(try harness.frames(viewers[0]).isEmpty, "still inside the widened window")
        harness.loop.advanceTime(by: .milliseconds(10))
        #expect(try harness.frames(viewers[0]).map(seqs) == [[21, 22, 23]])
    }

    @Test func anOverloadedRoomWidensPastTheCeilingUpToTheMaximumDelayAndDropsNothing() async throws {
        // A budget of 100 frames/s for 50 viewers: a frame each per 500 ms, past the 250 ms
        // ceiling and past a maximum delay of 300 ms. The room widens to 300 ms, and every viewer
        // still gets every comment, once and in order.
        let harness = ViewerHarness(window: 10) {
            $0.maxSendsPerSecond = 100
            $0.maxBatchWindowMilliseconds = 250
            $0.maxDelayMilliseconds = 300
        }
        let viewers = try (0..<50).map { _ in try harness.connect() }
        var received = try viewers.map { try harness.frames($0).dropFirst().map { $0 } }
        func drain() throws {
            for (index, viewer) in viewers.enumerated() { received[index] += try harness.frames(viewer) }
        }
        // 20 comments/s for 4 s: the room's rate is measured, then its window chosen.
        for _ in 0..<40 {
            try await harness.post(2)
            harness.loop.advanceTime(by: .milliseconds(100))
            try drain()
        }
        let late = try harness.connect()
        let hello = try json(try #require(try harness.frames(late).first))
        #expect(hello["batchWindowMs"] as? Int == 300, "widened past the ceiling, up to the maximum delay")
        #expect(hello["displayPerSecond"] == nil, "nothing is shed")
        #expect((hello["delayMs"] as? Int ?? 0) > 0)
        for _ in 0..<20 {
            try await harness.post(2)
            harness.loop.advanceTime(by: .milliseconds(100))
            try drain()
        }
        harness.loop.advanceTime(by: .seconds(2))
        try drain()
        for frames in received {
            let delivered = try frames.filter { $0.opcode == 0x1 }.flatMap(seqs)
            #expect(delivered == Array(1...120))
        }
    }

    @Test func aBatchForManyViewersGoesOutInSlicesAndInOrder() async throws {
        // Slices too short for more than a few writes: a batch for 40 viewers takes several turns
        // of the loop, and the next batch waits until every viewer has the previous one.
        let harness = ViewerHarness(window: 10) { $0.fanOutSlice = .nanoseconds(1) }
        let viewers = try (0..<40).map { _ in try harness.connect() }
        for viewer in viewers { _ = try harness.frames(viewer) }
        try await harness.post(2)
        harness.loop.advanceTime(by: .milliseconds(10))
        // The first batch is still on its way to the later viewers when the second is due...
        #expect(try harness.frames(viewers[39]).isEmpty)
        // ...and a viewer connecting now is answered at once, not after the whole fan-out.
        let newcomer = try harness.connect()
        #expect(try json(try harness.frames(newcomer)[0])["type"] as? String == "hello")
        #expect(try harness.frames(viewers[39]).isEmpty, "the fan-out has not finished meanwhile")
        try await harness.post(1)
        for _ in 0..<200 { harness.loop.advanceTime(by: .microseconds(100)) }
        for viewer in viewers {
            #expect(try harness.frames(viewer).map(seqs) == [[1, 2], [3]])
        }
    }

    @Test func compactViewersGetTheSameCommentsWithoutWhatEveryOneRepeats() async throws {
        let harness = ViewerHarness(window: 10)
        let full = try harness.connect()
        let compact = try harness.connect(format: .compact)
        let compactDeflate = try harness.connect(compression: true, format: .compact)
        #expect(try json(try harness.frames(full)[0])["v"] as? Int == 1)
        #expect(try json(try harness.frames(compact)[0])["v"] as? Int == 2)
        _ = try harness.frames(compactDeflate)
        try await harness.post(2)
        harness.loop.advanceTime(by: .milliseconds(10))
        let fullFrame = try harness.frames(full)[0]
        let compactFrame = try harness.frames(compact)[0]
        #expect(try seqs(compactFrame) == [1, 2])
        let fullComments = try #require(try json(fullFrame)["comments"] as? [[String: Any]])
        let compactComments = try #require(try json(compactFrame)["comments"] as? [[String: Any]])
        #expect(Set(fullComments[0].keys) == ["seq", "id", "room", "user", "text", "color", "mode", "ts"])
        #expect(Set(compactComments[0].keys) == ["seq", "id", "user", "text", "ts"])
        #expect(compactComments[0]["id"] as? String == fullComments[0]["id"] as? String)
        #expect(compactFrame.payload.count < fullFrame.payload.count - 2 * 40)
        let inflated = try inflateMessage(try harness.frames(compactDeflate)[0].payload)
        #expect(inflated == String(decoding: compactFrame.payload, as: UTF8.self), "compressed compact batches inflate to the same")
    }

    @Test func naiveModeSendsOneFramePerComment() async throws {
        let harness = ViewerHarness(window: 0)
        let channel = try harness.connect()
        _ = try harness.frames(channel)
        try await harness.post(3)
        let frames = try harness.frames(channel)
        #expect(try frames.map(seqs) == [[1], [2], [3]])
    }

    @Test func resumeSendsExactlyTheMissedComments() async throws {
        let harness = ViewerHarness(window: 10)
        try await harness.post(6)
        let channel = try harness.connect(since: 4)
        let frames = try harness.frames(channel)
        #expect(try json(frames[0])["lastSeq"] as? Int == 6)
        #expect(try seqs(frames[1]) == [5, 6])
        #expect(frames.count == 2)
        try await harness.post(1)
        harness.loop.advanceTime(by: .milliseconds(10))
        #expect(try harness.frames(channel).map(seqs) == [[7]])
    }

    @Test func resumeBeyondHistorySendsAGap() async throws {
        let harness = ViewerHarness(window: 10, history: 3)
        try await harness.post(10)
        let channel = try harness.connect(since: 2)
        let frames = try harness.frames(channel)
        let gap = try json(frames[1])
        #expect(gap["type"] as? String == "gap")
        #expect(gap["from"] as? Int == 3 && gap["to"] as? Int == 7)
        #expect(try seqs(frames[2]) == [8, 9, 10])
    }

    /// A resume reads the room's history (all of it with `since=0`): reconnecting in a loop is
    /// charged to the address's read budget like a `join`, and refused, with the same error and a
    /// close, once the budget is spent. Watching from now on reads no history and is never charged.
    @Test func resumesAreChargedToTheReadBudget() async throws {
        let harness = ViewerHarness(readLimit: RateLimit(perSecond: 0.001, burst: 2))
        try await harness.post(3)
        for _ in 0..<2 {
            let resumed = try harness.connect(since: 0)
            let frames = try harness.frames(resumed)
            try #require(frames.count == 2)
            #expect(try seqs(frames[1]) == [1, 2, 3], "hello, then the history")
        }
        let refused = try harness.connect(since: 0)
        let frames = try harness.frames(refused)
        let texts = try frames.filter { $0.opcode == 0x1 }.map(json)
        #expect(texts.map { $0["type"] as? String } == ["error"], "no history is read: \(texts)")
        #expect(texts.first?["code"] as? String == "rate_limited" && texts.first?["retryAfter"] != nil)
        #expect(frames.last?.closeCode == 1008)
        let watching = try harness.connect()
        #expect(try harness.frames(watching).map { try json($0)["type"] as? String } == ["hello"])
    }

    @Test func answersPingWithPong() throws {
        let harness = ViewerHarness()
        let channel = try harness.connect()
        _ = try harness.frames(channel)
        try channel.writeInbound(clientFrame(opcode: 0x9, payload: Array("abc".utf8)))
        let frames = try harness.frames(channel)
        #expect(frames == [ParsedFrame(fin: true, opcode: 0xA, masked: false, payload: Array("abc".utf8))])
    }

    @Test func pingsAndClosesIdleViewers() throws {
        let harness = ViewerHarness { $0.pingInterval = .seconds(20); $0.idleTimeout = .seconds(60) }
        let channel = try harness.connect()
        _ = try harness.frames(channel)
        harness.loop.advanceTime(by: .seconds(21))
        #expect(try harness.frames(channel).map(\.opcode) == [0x9])
        // A pong keeps it alive past the first minute.
        try channel.writeInbound(clientFrame(opcode: 0xA, payload: []))
        harness.loop.advanceTime(by: .seconds(40))
        #expect(try harness.frames(channel).map(\.opcode) == [0x9, 0x9])
        #expect(channel.isActive)
        harness.loop.advanceTime(by: .seconds(61))
        let frames = try harness.frames(channel)
        #expect(frames.last?.closeCode == 1001)
        harness.loop.advanceTime(by: .seconds(3))
        #expect(!channel.isActive, "closed after the close timeout")
    }

    @Test func pingsRideOnBatchesAndPongsStillKeepTheViewerOpen() async throws {
        let harness = ViewerHarness { $0.pingInterval = .seconds(20); $0.idleTimeout = .seconds(60) }
        let channel = try harness.connect()
        _ = try harness.frames(channel)
        // A comment every 5 s for 90 s: each due ping leaves with a batch, in the same write
        // (written right before it, flushed with it); the viewer answers each ping.
        var opcodes: [UInt8] = []
        for _ in 0..<18 {
            try await harness.post(1)
            harness.loop.advanceTime(by: .seconds(5))
            let frames = try harness.frames(channel).map(\.opcode)
            opcodes += frames
            if frames.contains(0x9) { try channel.writeInbound(clientFrame(opcode: 0xA, payload: [])) }
        }
        let pings = opcodes.indices.filter { opcodes[$0] == 0x9 }
        #expect(pings.count >= 3, "\(opcodes)")
        #expect(pings.allSatisfy { $0 + 1 < opcodes.count && opcodes[$0 + 1] == 0x1 }, "every ping right before a batch: \(opcodes)")
        #expect(channel.isActive)
        // Once the room goes quiet a ping goes alone within the interval; unanswered, the viewer
        // is closed 60 s after its last pong, batches or not.
        harness.loop.advanceTime(by: .seconds(21))
        #expect(try harness.frames(channel).map(\.opcode).contains(0x9))
        harness.loop.advanceTime(by: .seconds(40))
        #expect(try harness.frames(channel).last?.closeCode == 1001)
    }

    @Test func aViewerThatNeverAnswersIsClosedWhileBatchesFlow() async throws {
        // A written batch proves nothing past the first TCP hop (a proxy, a stopped application):
        // only the pong keeps a viewer open.
        let harness = ViewerHarness { $0.pingInterval = .seconds(20); $0.idleTimeout = .seconds(60) }
        let channel = try harness.connect()
        _ = try harness.frames(channel)
        var closed = false
        for _ in 0..<14 {
            try await harness.post(1)
            harness.loop.advanceTime(by: .seconds(5))
            if try harness.frames(channel).contains(where: { $0.closeCode == 1001 }) { closed = true }
        }
        #expect(closed, "closed by the idle timeout within 70 s")
    }

    @Test(arguments: [
        ("unmasked", clientFrame(opcode: 0x1, payload: Array("{}".utf8), masked: false), UInt16(1002)),
        ("rsv1", clientFrame(opcode: 0x1, payload: Array("{}".utf8), rsv1: true), 1002),
        ("reserved opcode", clientFrame(opcode: 0x3, payload: []), 1002),
        ("binary", clientFrame(opcode: 0x2, payload: [1, 2]), 1003),
        ("invalid UTF-8", clientFrame(opcode: 0x1, payload: [0x7B, 0xFF, 0x7D]), 1007),
        ("oversize", clientFrame(opcode: 0x1, payload: Array(repeating: 0x61, count: 5000)), 1009),
        ("fragmented ping", clientFrame(opcode: 0x9, payload: [], fin: false), 1002),
    ])
    func closesOnProtocolViolations(_ name: String, _ bytes: ByteBuffer, _ code: UInt16) throws {
        let harness = ViewerHarness()
        let channel = try harness.connect()
        _ = try harness.frames(channel)
        _ = try? channel.writeInbound(bytes)
        let frames = try harness.frames(channel)
        #expect(frames.last?.closeCode == code, "\(name)")
        // The viewer left its room: no more batches after the close frame.
        harness.loop.advanceTime(by: .seconds(3))
        #expect(!channel.isActive, "\(name)")
    }

    @Test func aPingFloodIsClosedAfterTheBurst() throws {
        let harness = ViewerHarness { $0.inboundMessageRate = RateLimit(perSecond: 20, burst: 40) }
        let flooder = try harness.connect()
        _ = try harness.frames(flooder)
        for _ in 0..<100 { _ = try? flooder.writeInbound(clientFrame(opcode: 0x9, payload: [])) }
        let frames = try harness.frames(flooder)
        #expect(frames.filter { $0.opcode == 0xA }.count == 40, "the burst is answered")
        #expect(frames.last?.closeCode == 1008)
        #expect(frames.last?.text.contains("too many messages") == true)
        // At the sustained rate a viewer is never closed.
        let steady = try harness.connect()
        _ = try harness.frames(steady)
        for _ in 0..<200 {
            try steady.writeInbound(clientFrame(opcode: 0x9, payload: []))
            harness.loop.advanceTime(by: .milliseconds(50))
        }
        #expect(try harness.frames(steady).allSatisfy { $0.opcode == 0xA || $0.opcode == 0x9 })
    }

    @Test func echoesTheViewersCloseAndDisconnects() throws {
        let harness = ViewerHarness()
        let channel = try harness.connect()
        _ = try harness.frames(channel)
        try channel.writeInbound(clientFrame(opcode: 0x8, payload: [0x03, 0xE8]))
        #expect(try harness.frames(channel).last?.closeCode == 1000)
        #expect(!channel.isActive)
    }

    static let closeCases: [CloseCase] = [
        CloseCase(payload: [], expected: 1000),
        CloseCase(payload: [0x03, 0xE9], expected: 1001),
        CloseCase(payload: [0x0F, 0xA0], expected: 4000),
        CloseCase(payload: [0x03], expected: 1002),             // one byte: no room for a code
        CloseCase(payload: [0x03, 0xED], expected: 1002),       // 1005 must never be sent
        CloseCase(payload: [0x03, 0xEE], expected: 1002),       // 1006 neither
        CloseCase(payload: [0x03, 0xE7], expected: 1002),       // 999: below the range
        CloseCase(payload: [0x13, 0x88], expected: 1002),       // 5000: above it
        CloseCase(payload: [0x03, 0xE8, 0xFF], expected: 1002), // reason not UTF-8
    ]

    struct CloseCase: Sendable, CustomTestStringConvertible {
        var payload: [UInt8]
        var expected: UInt16
        var testDescription: String { "\(payload) → \(expected)" }
    }

    @Test(arguments: closeCases)
    func answersCloseFramesWithAValidCode(_ close: CloseCase) throws {
        let (payload, expected) = (close.payload, close.expected)
        let harness = ViewerHarness()
        let channel = try harness.connect()
        _ = try harness.frames(channel)
        try channel.writeInbound(clientFrame(opcode: 0x8, payload: payload))
        #expect(try harness.frames(channel).last?.closeCode == expected)
        #expect(!channel.isActive)
    }

    @Test func answersUnknownMessagesWithAnErrorAndStaysOpen() throws {
        let harness = ViewerHarness()
        let channel = try harness.connect()
        _ = try harness.frames(channel)
        try channel.writeInbound(clientFrame(opcode: 0x1, payload: Array(#"{"type":"dance"}"#.utf8)))
        try channel.writeInbound(clientFrame(opcode: 0x1, payload: Array("not json".utf8)))
        let errors = try harness.frames(channel).map { try json($0)["code"] as? String }
        #expect(errors == ["unknown_type", "invalid_json"])
        #expect(channel.isActive)
    }

    @Test func watchOnlyNodesRefuseSocketPosts() throws {
        let harness = ViewerHarness { $0.viewerPosts = false }
        let channel = try harness.connect()
        _ = try harness.frames(channel)
        try channel.writeInbound(clientFrame(opcode: 0x1, payload: Array(#"{"type":"comment","text":"hi"}"#.utf8)))
        #expect(try harness.frames(channel).map { try json($0)["code"] as? String } == ["posting_disabled"])
        #expect(channel.isActive)
    }

    @Test func closesSlowConsumersAndStopsSendingToThem() async throws {
        let harness = ViewerHarness()
        let slow = try harness.connect()
        let healthy = try harness.connect()
        _ = try harness.frames(slow)
        _ = try harness.frames(healthy)
        slow.isWritable = false
        slow.pipeline.fireChannelWritabilityChanged()
        #expect(try harness.frames(slow).last?.closeCode == 1008)
        try await harness.post(2)
        harness.loop.advanceTime(by: .milliseconds(10))
        #expect(try harness.frames(slow).isEmpty)
        #expect(try harness.frames(healthy).map(seqs) == [[1, 2]])
    }

    @Test func viewersOfOtherRoomsGetNothing() async throws {
        let harness = ViewerHarness()
        let channel = try ViewerHarness.viewerChannel(loop: harness.loop, room: RoomID("other")!, hub: harness.hub)
        _ = try harness.frames(channel)
        try await harness.post(3)
        harness.loop.advanceTime(by: .milliseconds(20))
        #expect(try harness.frames(channel).isEmpty)
    }

    @Test func lastViewerOutReleasesTheSubscription() throws {
        let harness = ViewerHarness()
        let first = try harness.connect()
        let second = try harness.connect()
        #expect(harness.bus.subscribedRooms == 1)
        try first.close().wait()
        #expect(harness.bus.subscribedRooms == 1)
        try second.close().wait()
        #expect(harness.bus.subscribedRooms == 0)
        #expect(harness.hub.subscribedRooms == 0)
    }
}

/// A history log whose snapshots are answered only when the test says so, like a remote store.
final class DelayedLog: CommentLog, @unchecked Sendable {
    let inner: MemoryBus
    var pending: [(promise: EventLoopPromise<HistorySnapshot>, room: RoomID, since: UInt64?, limit: Int, retracted: Bool)] = []

    init(inner: MemoryBus) {
        self.inner = inner
    }

    func append(room: RoomID, unnumbered: ByteBuffer) async throws -> EncodedComment {
        try await inner.append(room: room, unnumbered: unnumbered)
    }

    func comment(room: RoomID, id: String) async throws -> EncodedComment? {
        try await inner.comment(room: room, id: id)
    }

    func retract(room: RoomID, id: String, reason: RetractReason?) async throws -> UInt64? {
        try await inner.retract(room: room, id: id, reason: reason)
    }

    func snapshot(room: RoomID, since: UInt64?, limit: Int, retracted: Bool, on eventLoop: any EventLoop) -> EventLoopFuture<HistorySnapshot> {
        let promise = eventLoop.makePromise(of: HistorySnapshot.self)
        pending.append((promise, room, since, limit, retracted))
        return promise.futureResult
    }

    /// Reads history for the oldest request now; the answer is delivered when `deliver` is called.
    func readOldest(on eventLoop: any EventLoop) throws -> () -> Void {
        let request = pending.removeFirst()
        let snapshot = try inner.snapshot(room: request.room, since: request.since, limit: request.limit, retracted: request.retracted, on: eventLoop).wait()
        return { request.promise.succeed(snapshot) }
    }
}

@Suite struct SlowHistoryTests {
    @Test func commentsFlushedWhileAViewerJoinsAreNotLost() async throws {
        let race = JoinRace()
        let (loop, log, harness) = (race.loop, race.log, ViewerHarness())
        func connect() throws -> EmbeddedChannel { try race.connect() }
        func post(_ id: Int) async throws { try await race.post(id) }

        let first = try connect()
        try log.readOldest(on: loop)()               // first viewer live at lastSeq 0
        try await post(1)
        let second = try connect()                   // second viewer joins…
        try await post(2)
        let deliver = try log.readOldest(on: loop)   // …its history is read at lastSeq 2…
        try await post(3)
        loop.advanceTime(by: .milliseconds(10))      // …seqs 1-3 are flushed to live viewers…
        deliver()                                    // …and only then does the snapshot arrive.
        try await post(4)
        loop.advanceTime(by: .milliseconds(10))

        let firstSeqs = try harness.frames(first).dropFirst().flatMap(seqs)
        #expect(firstSeqs == [1, 2, 3, 4])
        let secondFrames = try harness.frames(second)
        #expect(try json(secondFrames[0])["lastSeq"] as? Int == 2)
        #expect(try secondFrames.dropFirst().flatMap(seqs) == [3, 4])
    }

    /// A comment retracted while a resuming viewer's history is on its way: the history, read
    /// before, still holds it. It is left out, and the `retract` follows what the viewer is sent
    /// (sent at once, it would come before the comment and leave it on screen).
    @Test func aCommentRetractedWhileAViewersHistoryIsReadIsNotShownToIt() async throws {
        let race = JoinRace()
        let (loop, log, bus, room, harness) = (race.loop, race.log, race.bus, race.room, ViewerHarness())
        let first = try race.connect()
        try log.readOldest(on: loop)()
        try await race.post(1)
        try await race.post(2)
        loop.advanceTime(by: .milliseconds(10))
        let resuming = try race.connect(since: 0)
        let deliver = try log.readOldest(on: loop)   // its history holds 1 and 2…
        #expect(try await bus.retract(room: room, id: "2", reason: nil) == 2)
        try await bus.publishRetraction(seq: 2, id: "2", room: room, reason: nil)
        loop.run()                                   // …and 2 is retracted before it arrives.
        deliver()
        try await race.post(3)
        loop.advanceTime(by: .milliseconds(10))

        let frames = try harness.frames(resuming).dropFirst().map(json)
        let shown = frames.filter { $0["type"] as? String == "comments" }.flatMap { ($0["comments"] as! [[String: Any]]).compactMap { $0["seq"] as? Int } }
        #expect(shown == [1, 3])
        let retractAt = frames.firstIndex { $0["type"] as? String == "retract" && $0["id"] as? String == "2" }
        let historyAt = frames.firstIndex { $0["type"] as? String == "comments" }
        #expect(retractAt != nil, "the viewer is told, in case it shows the comment from before")
        #expect(retractAt.flatMap { at in historyAt.map { at > $0 } } == true, "after its history, not ahead of it")
        let live = try harness.frames(first).dropFirst().map(json)
        #expect(live.contains { $0["type"] as? String == "retract" && $0["id"] as? String == "2" }, "live viewers are told at once")
    }
}

/// A push hub on one embedded loop whose history reads wait until the test releases them
/// (`DelayedLog`): for races between a viewer's join and the batches flushed meanwhile.
struct JoinRace {
    let loop = EmbeddedEventLoop()
    let bus = MemoryBus(historyCapacity: 100)
    let log: DelayedLog
    let hub: PushHub
    let room = RoomID("r1")!

    init(push: PushConfiguration = PushConfiguration()) {
        log = DelayedLog(inner: bus)
        var logic = LogicConfiguration()
        logic.userLimit = RateLimit(perSecond: 1000, burst: 1000)
        let service = LogicTier(configuration: logic, log: bus, bus: bus)
        hub = PushHub(configuration: push, eventLoops: [loop], services: service.viewers, moderation: service.moderation, log: log, bus: bus, logger: Logger(label: "test"))
        loop.run()
    }

    /// A viewer of the room (its hello not yet read).
    func connect(since: UInt64? = nil) throws -> EmbeddedChannel {
        try ViewerHarness.viewerChannel(loop: loop, room: room, since: since, hub: hub)
    }

    /// Stores and publishes comment `id` with `text`.
    func post(_ id: Int, text: String = "t") async throws {
        let unnumbered = Comment(seq: 0, id: "\(id)", room: room.value, user: CommentAuthor(id: "u", name: "U"),
                                     text: text, color: "#ffffff", mode: .scroll, ts: 0).unnumberedJSON()
        let stored = try await bus.append(room: room, unnumbered: unnumbered)
        try await bus.publish([stored], room: room)
        loop.run()
    }
}
