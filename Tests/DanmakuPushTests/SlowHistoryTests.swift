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
        var leaving: EmbeddedChannel? = try ViewerHarness.viewerChannel(loop: loop, room: room, hub: hub)
        loop.run()
        #expect(log.pending.count == 2)
        weak var leftHandler = try leaving?.pipeline.syncOperations.handler(type: ViewerHandler.self)
        _ = try leaving?.finish()
        leaving = nil
        log.failAll()
        loop.run()
        #expect(leftHandler == nil, "a subscription that left holds nothing of its connection")
        // The viewer that stayed is closed with a reason: its history could not be read.
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
