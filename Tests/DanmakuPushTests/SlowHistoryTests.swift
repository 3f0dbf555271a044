import DanmakuBus
import DanmakuCore
import DanmakuLogic
import DanmakuPush
import DanmakuTestSupport
import Logging
import NIOCore
import NIOEmbedded
import Testing

extension DelayedLog {
    struct Unavailable: Error {}

    /// Fails every read not answered yet, as a store that went down does.
    func failAll() {
        let requests = pending
        pending = []
        for request in requests { request.promise.fail(Unavailable()) }
    }
}

extension SlowHistoryTests {
    /// A viewer that leaves while its history read is failing is never touched afterwards (it
    /// may be freed by then), and the viewer that stayed is told why it is closed.
    @Test func aViewerThatLeftDuringAFailingHistoryReadIsLeftAlone() throws {
        let loop = EmbeddedEventLoop()
        let bus = MemoryBus(historyCapacity: 100)
        let log = DelayedLog(inner: bus)
        let service = LogicTier(configuration: LogicConfiguration(), log: log, bus: bus)
        let hub = PushHub(configuration: PushConfiguration(), eventLoops: [loop], services: service.viewers, moderation: service.moderation, log: log, bus: bus, logger: Logger(label: "test"))
        loop.run()
        let room = RoomID("slow")!
        let staying = try ViewerHarness.viewerChannel(loop: loop, room: room, hub: hub)
        // A resume: a read of its own, on its way beside the first one.
        var leaving: EmbeddedChannel? = try ViewerHarness.viewerChannel(loop: loop, room: room, since: 0, hub: hub)
        loop.run()
        #expect(log.pending.count == 2)
        weak var leftHandler = try leaving?.pipeline.syncOperations.handler(type: ViewerHandler.self)
        _ = try leaving?.finish()
        leaving = nil
        log.failAll()
        loop.run()
        #expect(leftHandler == nil, "a subscription that left holds nothing of its connection")
        // The viewer that stayed is read for again until its patience runs out, then closed with
        // a reason: its history could not be read.
        for _ in 0..<12 {
            loop.advanceTime(by: .seconds(1))
            log.failAll()
            loop.run()
        }
        var output = try staying.readOutbound(as: ByteBuffer.self)
        var sawClose = false
        while let buffer = output {
            if let frames = ParsedFrame.parseAll(buffer), frames.contains(where: { $0.opcode == 0x8 }) { sawClose = true }
            output = try staying.readOutbound(as: ByteBuffer.self)
        }
        #expect(sawClose)
        _ = try? staying.finish()
    }
}

extension SlowHistoryTests {
    /// A connect storm asks the history store once per resume point, not once per viewer. A
    /// viewer that comes while a read is on its way waits for the next read of its kind: the
    /// read on its way may not cover a comment flushed before the viewer came (here seq 4), which
    /// the viewer never buffered. Every viewer gets exactly what it missed, once.
    @Test func viewersJoiningTogetherShareOneHistoryRead() async throws {
        let race = JoinRace()
        let (loop, log, harness) = (race.loop, race.log, ViewerHarness())
        for id in 1...3 { try await race.post(id) }

        let first = try race.connect(since: 1)
        let deliverFirst = try log.readOldest(on: loop)        // read at lastSeq 3…
        try await race.post(4)
        loop.advanceTime(by: .milliseconds(10))                // …4 is flushed, the first buffers it…
        let resuming = try (0..<20).map { _ in try race.connect(since: 1) }
        #expect(log.pending.isEmpty, "the resumes that came later wait for the read on its way")
        let fresh = try (0..<5).map { _ in try race.connect() }
        #expect(log.pending.count == 1, "one read for the first of the first joins; the four after it wait")
        deliverFirst()
        #expect(log.pending.count == 2, "then one read for the twenty resumes")
        try log.readOldest(on: loop)()
        #expect(log.pending.count == 2, "and one for the four first joins")
        try log.readOldest(on: loop)()
        try log.readOldest(on: loop)()
        #expect(log.pending.isEmpty, "four reads for 26 viewers")
        try await race.post(5)
        loop.advanceTime(by: .milliseconds(10))

        func shown(_ channel: EmbeddedChannel) throws -> [UInt64] {
            try harness.frames(channel).filter { try json($0)["type"] as? String == "comments" }.flatMap(seqs)
        }
        #expect(try shown(first) == [2, 3, 4, 5])
        for viewer in resuming { #expect(try shown(viewer) == [2, 3, 4, 5]) }
        for viewer in fresh { #expect(try shown(viewer) == [5]) }
    }

    /// A viewer that left while waiting for a shared read is not activated by it, and the others
    /// are; a failed shared read is tried again after a backoff for the viewers it served and
    /// whoever came meanwhile, who keep waiting rather than being closed.
    @Test func aSharedReadSkipsViewersThatLeftAndAFailedOneIsTriedAgain() async throws {
        let race = JoinRace()
        let (loop, log, harness) = (race.loop, race.log, ViewerHarness())
        try await race.post(1)
        let opener = try race.connect(since: 0)
        let deliverOpener = try log.readOldest(on: loop)
        let staying = try race.connect(since: 0)
        let leaving = try race.connect(since: 0)
        _ = try leaving.finish()
        deliverOpener()
        #expect(log.pending.count == 1, "one read for the viewer still waiting")
        log.failAll()
        loop.run()
        let latecomer = try race.connect(since: 0)
        #expect(log.pending.isEmpty, "the latecomer waits for the retry")
        loop.advanceTime(by: HistoryRetry.delay(attempt: 1))
        #expect(log.pending.count == 1, "one read again, for both")
        try log.readOldest(on: loop)()
        for viewer in [opener, staying, latecomer] {
            let frames = try harness.frames(viewer)
            #expect(!frames.contains { $0.opcode == 0x8 }, "not closed")
            #expect(try frames.filter { try $0.opcode == 0x1 && json($0)["type"] as? String == "comments" }.flatMap(seqs) == [1])
        }
    }

    /// A history read that keeps failing closes its viewers once `HistoryRetry.patience` has passed
    /// since they joined (they come back later, or to another node), not before.
    @Test func aHistoryReadThatKeepsFailingClosesItsViewersAfterThePatience() async throws {
        let race = JoinRace()
        let (loop, log, harness) = (race.loop, race.log, ViewerHarness())
        let viewer = try race.connect(since: 0)
        var waited = TimeAmount.zero
        var closedAfter: TimeAmount?
        while closedAfter == nil, waited < .seconds(30) {
            log.failAll()
            loop.run()
            if try harness.frames(viewer).contains(where: { $0.opcode == 0x8 }) { closedAfter = waited }
            loop.advanceTime(by: .milliseconds(250))
            waited = waited + .milliseconds(250)
        }
        let closed = try #require(closedAfter)
        #expect(closed >= HistoryRetry.patience)
        #expect(closed <= HistoryRetry.patience + .seconds(2), "within a retry's wait of it")
    }
}

/// Closes the channel, as a slow-consumer close does, when a write larger than `limit` passes:
/// the close happens inside the write, as it does for a write past a socket's bound.
private final class CloseOnLargeWrite: ChannelOutboundHandler {
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    let limit: Int

    init(limit: Int) {
        self.limit = limit
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard unwrapOutboundIn(data).readableBytes <= limit else {
            promise?.fail(ChannelError.outputClosed)
            context.close(promise: nil)
            return
        }
        context.write(data, promise: promise)
    }
}

extension SlowHistoryTests {
    /// A resuming viewer closed by its own catch-up (what it missed passed its connection's
    /// bound) has left the room by the time the catch-up returns: it is not made live after, or
    /// the room would keep it for good (never emptied, its subscription never let go).
    @Test func aViewerClosedByItsOwnCatchUpIsNotMadeLive() async throws {
        let race = JoinRace()
        let (loop, log) = (race.loop, race.log)
        let live = try race.connect()
        try log.readOldest(on: loop)()
        for id in 1...30 { try await race.post(id, text: String(repeating: "x", count: 100)) }
        loop.advanceTime(by: .milliseconds(10))
        let resuming = EmbeddedChannel(loop: loop)
        try ViewerPipeline.addHandlers(
            to: resuming, room: race.room, since: 0, clientAddress: "10.0.0.2", compression: false, hub: race.hub, format: .full)
        try resuming.pipeline.syncOperations.addHandler(CloseOnLargeWrite(limit: 1_000), position: .first)
        try resuming.connect(to: SocketAddress(ipAddress: "10.0.0.2", port: 5000)).wait()
        try log.readOldest(on: loop)()
        loop.run()
        #expect(!resuming.isActive, "its history (30 comments) passed the bound")
        _ = try live.finish()
        loop.run()
        #expect(race.hub.subscribedRooms == 0, "the room emptied and let go of its subscription")
    }
}
