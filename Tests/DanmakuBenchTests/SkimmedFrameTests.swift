import DanmakuBench
import DanmakuTestSupport
import NIOCore
import NIOEmbedded
import NIOPosix
import Testing

/// A batch that spans reads is read where each read lies (`SkimmedFrame`): whatever the reads'
/// sizes, a viewer counts exactly what it counts when each frame arrives whole.
@Suite struct SkimmedFrameTests {
    /// What one viewer counted from `stream`, cut into reads by `sizes` (cycled).
    func totals(of stream: ByteBuffer, reads sizes: [Int], verifyEveryComment: Bool) throws -> ViewerTotals {
        let loop = EmbeddedEventLoop()
        let stats = LoopStats()
        let bound = NIOLoopBound(stats, eventLoop: loop)
        let viewer = BenchViewer(
            path: "/v1/rooms/r/ws?v=2", verifyEveryComment: verifyEveryComment, counters: ConnectionCounters(),
            statsForLoop: { _ in bound.value })
        let channel = EmbeddedChannel(handler: viewer, loop: loop)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 7000)).wait()
        var rest = stream
        var index = 0
        while rest.readableBytes > 0 {
            let size = min(sizes[index % sizes.count], rest.readableBytes)
            index += 1
            try channel.writeInbound(rest.readSlice(length: size)!)
        }
        _ = try? channel.finish()
        return stats.totals
    }

    static func batch(_ seqs: [UInt64], stamp: UInt64, head: String = "") -> ByteBuffer {
        ServerFrame.text(
            #"{"type":"comments","room":"r",\#(head)"comments":["#
                + seqs.map { #"{"seq":\#($0),"id":"c\#($0)","text":"b\#(stamp) 主播太强了 \"seq\":1","ts":1,"user":{"id":"u","name":"n"}}"# }
                .joined(separator: ",") + "]}")
    }

    /// The upgrade, `hello`, then batches large and small: in order, with a seq missing inside a
    /// large batch, one seen twice, a budget's `shed` batch, and one larger than 64 KiB.
    static func stream() -> ByteBuffer {
        let stamp = microsecondsNow()
        var stream = ByteBuffer(string: "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n")
        var frames = [ServerFrame.text(#"{"batchWindowMs":10,"epoch":3,"lastSeq":0,"room":"r","type":"hello"}"#)]
        frames.append(batch(Array(1...300), stamp: stamp))
        frames.append(batch([301], stamp: stamp))
        frames.append(batch(Array(302...400) + Array(402...700), stamp: stamp))
        frames.append(batch(Array(700...720), stamp: stamp))
        frames.append(batch([730, 731], stamp: stamp, head: #""shed":9,"lastSeq":731,"#))
        frames.append(batch(Array(732...1400), stamp: stamp))
        frames.append(batch(Array(1401...1402), stamp: stamp))
        for var frame in frames { stream.writeBuffer(&frame) }
        return stream
    }

    @Test(arguments: [true, false])
    func readsCutAnywhereCountWhatWholeFramesCount(verifyEveryComment: Bool) throws {
        let stream = Self.stream()
        let whole = try totals(of: stream, reads: [stream.readableBytes], verifyEveryComment: verifyEveryComment)
        #expect(whole.deliveries > 1_000 && whole.shed == 9)
        if verifyEveryComment {
            #expect(whole.missing == 1 && whole.duplicated == 1)
        }
        var random = SeededRandom(seed: 29)
        let cuts: [[Int]] = [[1], [7], [4096], [65_536], [100, 3, 20_000, 1, 513]] + (0..<20).map { _ in
            (0..<50).map { _ in Int(random.next() % 9_000) + 1 }
        }
        for sizes in cuts {
            let cut = try totals(of: stream, reads: sizes, verifyEveryComment: verifyEveryComment)
            #expect(cut.deliveries == whole.deliveries, "reads of \(sizes.prefix(5))")
            #expect(cut.missing == whole.missing && cut.duplicated == whole.duplicated && cut.shed == whole.shed)
            #expect(cut.frames == whole.frames && cut.bytes == whole.bytes)
            #expect(cut.latency.totalCount == whole.latency.totalCount)
        }
    }

    /// A server's hostile numbers end the viewer's count of them, not the bench: a frame length
    /// near 2^63, a seq of twenty digits, a batch whose last seq is below its first.
    @Test(arguments: [true, false])
    func hostileNumbersNeitherTrapNorCount(verifyEveryComment: Bool) throws {
        var stream = ByteBuffer(string: "HTTP/1.1 101 Switching Protocols\r\n\r\n")
        var hello = ServerFrame.text(#"{"lastSeq":18446744073709551615,"type":"hello"}"#)
        stream.writeBuffer(&hello)
        var huge = Self.batch([18_446_744_073_709_551_615, 5], stamp: 1)
        stream.writeBuffer(&huge)
        var backwards = Self.batch([9, 3], stamp: 1)
        stream.writeBuffer(&backwards)
        stream.writeBytes([0x81, 0x7F, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7B])
        for sizes in [[stream.readableBytes], [5], [300]] {
            let totals = try totals(of: stream, reads: sizes, verifyEveryComment: verifyEveryComment)
            #expect(totals.deliveries <= 3)
        }
    }
}
