import DanmakuBench
import NIOCore
import NIOEmbedded
import NIOPosix
import Testing

/// The bench loads Nchan with the same viewers it loads Danmaku with.
@Suite struct BenchTargetTests {
    @Test func pathsAndAnswersOfEachTarget() {
        #expect(BenchTarget.danmaku.viewerPath(room: "r", wireFormat: 2) == "/v1/rooms/r/ws?v=2")
        #expect(BenchTarget.nchan.viewerPath(room: "r", wireFormat: 2) == "/sub/r")
        #expect(BenchTarget.nchan.postPath(room: "r") == "/pub/r")
        #expect(!BenchTarget.danmaku.accepted(status: 202) && BenchTarget.nchan.accepted(status: 202))
    }

    /// Nchan says no `hello`: the answered upgrade is the join, at seq 0, and Nchan's frames
    /// (one comment each, as the publisher posted them) are checked like Danmaku's batches.
    @Test func aViewerOfNchanJoinsOnTheUpgradeAndChecksEveryFrame() throws {
        let loop = EmbeddedEventLoop()
        let stats = LoopStats()
        let bound = NIOLoopBound(stats, eventLoop: loop)
        let counters = ConnectionCounters()
        let viewer = BenchViewer(
            path: BenchTarget.nchan.viewerPath(room: "r", wireFormat: 2), verifyEveryComment: true, counters: counters,
            statsForLoop: { _ in bound.value }, saysHello: false)
        let channel = EmbeddedChannel(handler: viewer, loop: loop)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 7380)).wait()
        try channel.writeInbound(ByteBuffer(string: "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n"))
        #expect(counters.joined == 1 && viewer.lastSeq == 0)
        for seq: UInt64 in [1, 2, 4, 4] {
            let text = BenchTarget.nchanFrame(room: "r", seq: seq, text: "b\(microsecondsNow()) hi", sentAtMicroseconds: microsecondsNow())
            try channel.writeInbound(ServerFrame.text(text))
        }
        #expect(stats.totals.deliveries == 3 && stats.totals.missing == 1 && stats.totals.duplicated == 1)
        #expect(stats.totals.latency.totalCount == 3)
        _ = try? channel.finish()
    }
}
