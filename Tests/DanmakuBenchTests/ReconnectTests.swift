import DanmakuBench
import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
import Testing

@Suite struct ReconnectPolicyTests {
    /// The viewers of a killed node spread evenly over every other node, and an attempt that
    /// fails moves on to the next node, never back to the lost one.
    @Test func spreadsOneNodesViewersOverTheOthers() {
        let policy = ReconnectPolicy(endpoints: 4, spreadOver: 4)
        // Viewers 0, 4, 8, … joined endpoint 0.
        let firstAttempts = stride(from: 0, to: 4 * 300, by: 4).map { policy.endpoint(viewer: $0, lost: 0, attempt: 0) }
        #expect(Set(firstAttempts) == [1, 2, 3])
        for target in 1...3 { #expect(firstAttempts.filter { $0 == target }.count == 100) }
        for viewer in [0, 4, 40, 1236] {
            let attempts = (0..<9).map { policy.endpoint(viewer: viewer, lost: 2, attempt: $0) }
            #expect(!attempts.contains(2))
            #expect(Set(attempts.prefix(3)) == [0, 1, 3], "three attempts try the three other nodes")
        }
    }

    /// Nodes past `spreadOver` take only viewers coming back: one node's viewers go to the other
    /// first nodes and the spare alike.
    @Test func aSpareNodeTakesItsShareOfTheViewersComingBack() {
        let policy = ReconnectPolicy(endpoints: 3, spreadOver: 2)
        let targets = stride(from: 0, to: 2 * 1000, by: 2).map { policy.endpoint(viewer: $0, lost: 0, attempt: 0) }
        #expect(targets.filter { $0 == 1 }.count == 500 && targets.filter { $0 == 2 }.count == 500)
    }

    @Test func withOneEndpointItWaitsForThatOne() {
        let policy = ReconnectPolicy(endpoints: 1, spreadOver: 1)
        #expect(policy.endpoint(viewer: 7, lost: 0, attempt: 3) == 0)
    }

    /// The first wait, doubling to the ceiling, each between half and one and a half times that.
    @Test func backsOffWithJitterUpToTheCeiling() {
        let policy = ReconnectPolicy(endpoints: 2, spreadOver: 2, firstDelay: .milliseconds(200), maxDelay: .seconds(3))
        #expect(policy.delay(attempt: 0, random: 0) == .milliseconds(100))
        #expect(policy.delay(attempt: 0, random: 1000) == .milliseconds(300))
        #expect(policy.delay(attempt: 2, random: 500) == .milliseconds(800))
        #expect(policy.delay(attempt: 10, random: 500) == .seconds(3))
        #expect(policy.delay(attempt: .max, random: .max) <= .milliseconds(4500))
        let spread = Set((0..<1000 as Range<UInt64>).map { policy.delay(attempt: 0, random: $0 &* 7919) })
        #expect(spread.count > 500, "viewers that lost the same node wait different times")
    }

    @Test func resumesAfterTheLastSeqInItsNumbering() {
        #expect(ReconnectPolicy.resumePath("/v1/rooms/r/ws?v=2", since: 41, epoch: 1_796_176_012_343)
            == "/v1/rooms/r/ws?v=2&since=41&epoch=1796176012343")
        #expect(ReconnectPolicy.resumePath("/v1/rooms/r/ws", since: 0, epoch: nil) == "/v1/rooms/r/ws?since=0")
    }
}

/// A bench viewer that loses its socket comes back through its dial, resumes after what it saw,
/// and counts history and live comments alike, timing only the live ones.
@Suite struct BenchViewerReconnectTests {
    /// Sockets the viewer dialled, on one embedded loop.
    final class Dialled: Sendable {
        let targets = NIOLockedValueBox<[Int]>([])
        let channels = NIOLockedValueBox<[EmbeddedChannel]>([])
        let refuse = NIOLockedValueBox(0)
    }

    struct Harness {
        let loop = EmbeddedEventLoop()
        let stats = LoopStats()
        let counters = ConnectionCounters()
        let dialled = Dialled()
        let viewer: BenchViewer
        let first: EmbeddedChannel

        init(verifyEveryComment: Bool = true) throws {
            let loop = loop
            let dialled = dialled
            let stats = NIOLoopBound(stats, eventLoop: loop)
            let reconnection = ViewerReconnection(policy: ReconnectPolicy(endpoints: 3, spreadOver: 2), viewer: 4) { bound, target in
                dialled.targets.withLockedValue { $0.append(target) }
                if dialled.refuse.withLockedValue({ $0 }) > 0 {
                    dialled.refuse.withLockedValue { $0 -= 1 }
                    return loop.makeFailedFuture(ChannelError.connectTimeout(.seconds(1)))
                }
                let channel = EmbeddedChannel(handler: bound.value, loop: loop)
                dialled.channels.withLockedValue { $0.append(channel) }
                return channel.connect(to: try! SocketAddress(ipAddress: "127.0.0.1", port: 7000)).map { channel }
            }
            viewer = BenchViewer(
                path: "/v1/rooms/r/ws?v=2", verifyEveryComment: verifyEveryComment, counters: counters,
                statsForLoop: { _ in stats.value }, reconnection: reconnection, endpoint: 0)
            first = EmbeddedChannel(handler: viewer, loop: loop)
            try first.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 7000)).wait()
        }

        /// The upgrade request's path on `channel`.
        func requestPath(_ channel: EmbeddedChannel) throws -> String? {
            guard let request = try channel.readOutbound(as: ByteBuffer.self) else { return nil }
            return String(buffer: request).split(separator: " ").dropFirst().first.map(String.init)
        }

        func upgrade(_ channel: EmbeddedChannel, hello: String) throws {
            try channel.writeInbound(ByteBuffer(string: "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n"))
            try channel.writeInbound(ServerFrame.text(hello))
        }

        /// A comments batch with `seqs`, each stamped `stamp` µs (the bench's send time).
        static func batch(_ seqs: [UInt64], stamp: UInt64) -> ByteBuffer {
            ServerFrame.text(#"{"type":"comments","room":"r","comments":["# + seqs.map { #"{"seq":\#($0),"id":"c\#($0)","text":"b\#(stamp) hi","ts":1}"# }.joined(separator: ",") + "]}")
        }
    }

    @Test func comesBackElsewhereAndMissesNothing() throws {
        let harness = try Harness()
        #expect(try harness.requestPath(harness.first) == "/v1/rooms/r/ws?v=2")
        try harness.upgrade(harness.first, hello: #"{"batchWindowMs":10,"epoch":77,"lastSeq":5,"room":"r","type":"hello"}"#)
        #expect(harness.counters.joined == 1)
        try harness.first.writeInbound(Harness.batch([6, 7], stamp: microsecondsNow()))
        #expect(harness.viewer.lastSeq == 7)

        // The node dies: the socket closes under the viewer (a close, not finish(), which would
        // cancel the loop's scheduled attempt).
        try harness.first.close().wait()
        #expect(harness.counters.dropped == 1 && harness.counters.reconnecting == 1)
        #expect(harness.dialled.targets.withLockedValue { $0 }.isEmpty, "it waits its backoff first")
        harness.loop.advanceTime(by: .milliseconds(400))
        // Viewer 4 joined endpoint 0 of the two that take new viewers; the other one is its first try.
        #expect(harness.dialled.targets.withLockedValue { $0 } == [1])
        let second = try #require(harness.dialled.channels.withLockedValue { $0.first })
        #expect(try harness.requestPath(second) == "/v1/rooms/r/ws?v=2&since=7&epoch=77")

        // History brings 8 and 9 (posted while it was away, long ago), then 10 comes live.
        try harness.upgrade(second, hello: #"{"batchWindowMs":10,"epoch":77,"lastSeq":9,"room":"r","type":"hello"}"#)
        #expect(harness.counters.rejoined == 1 && harness.counters.reconnecting == 0)
        #expect(harness.counters.lastRejoinMicroseconds > 0)
        try second.writeInbound(Harness.batch([8, 9], stamp: 1))
        try second.writeInbound(Harness.batch([10], stamp: microsecondsNow()))
        let totals = harness.stats.snapshot(reset: false)
        #expect(totals.missing == 0 && totals.duplicated == 0)
        #expect(totals.deliveries == 5)
        #expect(totals.latency.totalCount == 3, "6, 7 and 10 are timed; history's 8 and 9 are not")
        #expect(totals.latency.max < 60_000_000)
        #expect(harness.counters.connected == 1 && harness.counters.closedEarly == 0)

        harness.viewer.stop()
        _ = try? second.finish()
        #expect(harness.counters.connected == 0 && harness.counters.closedEarly == 0)
    }

    /// A refused attempt goes on to the next node; a resume that repeats a seq counts it as
    /// duplicated, and one that skips a seq counts it as missing.
    @Test func triesTheNextNodeAndCountsWhatTheResumeGetsWrong() throws {
        let harness = try Harness(verifyEveryComment: false)
        _ = try harness.requestPath(harness.first)
        try harness.upgrade(harness.first, hello: #"{"epoch":77,"lastSeq":0,"room":"r","type":"hello"}"#)
        try harness.first.writeInbound(Harness.batch([1, 2, 3], stamp: 1))
        harness.dialled.refuse.withLockedValue { $0 = 1 }
        try harness.first.close().wait()
        harness.loop.advanceTime(by: .milliseconds(400))
        #expect(harness.counters.attemptsFailed == 1)
        harness.loop.advanceTime(by: .milliseconds(800))
        #expect(harness.dialled.targets.withLockedValue { $0 } == [1, 2], "refused by 1, it goes on to the spare")
        let second = try #require(harness.dialled.channels.withLockedValue { $0.first })
        #expect(try harness.requestPath(second) == "/v1/rooms/r/ws?v=2&since=3&epoch=77")
        try harness.upgrade(second, hello: #"{"epoch":77,"lastSeq":6,"room":"r","type":"hello"}"#)
        try second.writeInbound(Harness.batch([3, 4], stamp: 1))
        try second.writeInbound(Harness.batch([6], stamp: 1))
        let totals = harness.stats.snapshot(reset: false)
        #expect(totals.duplicated == 1 && totals.missing == 1)
        harness.viewer.stop()
        _ = try? second.finish()
    }

    /// A comeback whose `hello` names another epoch is a room that started over: counted, and
    /// the new numbering is followed from seq 1.
    @Test func countsARoomThatStartedOver() throws {
        let harness = try Harness()
        _ = try harness.requestPath(harness.first)
        try harness.upgrade(harness.first, hello: #"{"epoch":77,"lastSeq":40,"room":"r","type":"hello"}"#)
        try harness.first.close().wait()
        harness.loop.advanceTime(by: .milliseconds(400))
        let second = try #require(harness.dialled.channels.withLockedValue { $0.first })
        _ = try harness.requestPath(second)
        try harness.upgrade(second, hello: #"{"epoch":99,"lastSeq":2,"room":"r","type":"hello"}"#)
        try second.writeInbound(Harness.batch([1, 2], stamp: 1))
        #expect(harness.counters.restarted == 1)
        #expect(harness.viewer.lastSeq == 2 && harness.viewer.epoch == 99)
        #expect(harness.stats.snapshot(reset: false).missing == 0)
        harness.viewer.stop()
        _ = try? second.finish()
    }

    /// A join the server refuses (closed before `hello`) is tried again on the same node, and
    /// counted as a failed attempt, not a failed viewer.
    @Test func triesARefusedJoinAgainOnTheSameNode() throws {
        let harness = try Harness()
        _ = try harness.requestPath(harness.first)
        try harness.first.writeInbound(ByteBuffer(string: "HTTP/1.1 101 Switching Protocols\r\n\r\n"))
        try harness.first.close().wait()
        #expect(harness.counters.failed == 0 && harness.counters.attemptsFailed == 1)
        harness.loop.advanceTime(by: .milliseconds(400))
        #expect(harness.dialled.targets.withLockedValue { $0 } == [0])
        let second = try #require(harness.dialled.channels.withLockedValue { $0.first })
        #expect(try harness.requestPath(second) == "/v1/rooms/r/ws?v=2")
        try harness.upgrade(second, hello: #"{"epoch":77,"lastSeq":4,"room":"r","type":"hello"}"#)
        #expect(harness.counters.joined == 1 && harness.counters.rejoined == 0 && harness.viewer.lastSeq == 4)
        harness.viewer.stop()
        _ = try? second.finish()
    }

    /// A first connection that failed is tried again on the same node with a reconnection.
    @Test func triesAFailedFirstConnectionAgain() throws {
        let harness = try Harness()
        harness.viewer.connectFailed(on: harness.loop)
        #expect(harness.counters.failed == 0 && harness.counters.attemptsFailed == 1)
        harness.loop.advanceTime(by: .milliseconds(400))
        #expect(harness.dialled.targets.withLockedValue { $0 } == [0])
        harness.viewer.stop()
        for channel in harness.dialled.channels.withLockedValue({ $0 }) { _ = try? channel.finish() }
        _ = try? harness.first.finish()
    }

    /// A viewer that joined a room with no comment yet (epoch 0) takes the numbering that came
    /// next as its own: no restart.
    @Test func aRoomWithNoCommentYetHasNoNumberingToLeave() throws {
        let harness = try Harness()
        _ = try harness.requestPath(harness.first)
        try harness.upgrade(harness.first, hello: #"{"epoch":0,"lastSeq":0,"room":"r","type":"hello"}"#)
        try harness.first.writeInbound(Harness.batch([1, 2], stamp: 1))
        try harness.first.close().wait()
        harness.loop.advanceTime(by: .milliseconds(400))
        let second = try #require(harness.dialled.channels.withLockedValue { $0.first })
        #expect(try harness.requestPath(second) == "/v1/rooms/r/ws?v=2&since=2&epoch=0")
        try harness.upgrade(second, hello: #"{"epoch":77,"lastSeq":3,"room":"r","type":"hello"}"#)
        try second.writeInbound(Harness.batch([3], stamp: 1))
        #expect(harness.counters.restarted == 0)
        #expect(harness.viewer.lastSeq == 3 && harness.viewer.epoch == 77)
        let totals = harness.stats.snapshot(reset: false)
        #expect(totals.missing == 0 && totals.duplicated == 0 && totals.deliveries == 3)
        harness.viewer.stop()
        _ = try? second.finish()
    }

    /// Without a reconnection a close ends the viewer (closed early), as before; a refused
    /// upgrade is one failure, not two.
    @Test func withoutReconnectionACloseEndsTheViewer() throws {
        let stats = LoopStats()
        let counters = ConnectionCounters()
        let loop = EmbeddedEventLoop()
        let bound = NIOLoopBound(stats, eventLoop: loop)
        let viewer = BenchViewer(path: "/v1/rooms/r/ws", verifyEveryComment: false, counters: counters, statsForLoop: { _ in bound.value })
        let channel = EmbeddedChannel(handler: viewer, loop: loop)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 7000)).wait()
        try channel.writeInbound(ByteBuffer(string: "HTTP/1.1 101 Switching Protocols\r\n\r\n"))
        try channel.writeInbound(ServerFrame.text(#"{"lastSeq":0,"type":"hello"}"#))
        _ = try? channel.finish()
        #expect(counters.closedEarly == 1 && counters.dropped == 0)

        let refused = BenchViewer(path: "/v1/rooms/r/ws", verifyEveryComment: false, counters: counters, statsForLoop: { _ in bound.value })
        let other = EmbeddedChannel(handler: refused, loop: loop)
        try other.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 7000)).wait()
        try other.writeInbound(ByteBuffer(string: "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n"))
        _ = try? other.finish()
        #expect(counters.failed == 1)
    }
}
