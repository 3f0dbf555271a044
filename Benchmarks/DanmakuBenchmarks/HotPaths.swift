// Danmaku — a live-stream bullet-comment service.

import Benchmark
import DanmakuBus
import DanmakuCore
import DanmakuLogic
import DanmakuPush
import Foundation
import Logging
import NIOCore
import NIOEmbedded

/// Micro-benchmarks of the paths every comment takes: run with `swift package benchmark`.
let benchmarks: @Sendable () -> Void = {
    let metrics: [BenchmarkMetric] = [.wallClock, .cpuTotal, .mallocCountTotal, .throughput]
    Benchmark.defaultConfiguration = .init(metrics: metrics, maxDuration: .seconds(3), maxIterations: 100_000)

    let room = RoomID("bench")!
    func comment(_ seq: UInt64) -> Comment {
        Comment(
            seq: seq, id: "2a6ac36f-4d1a-4f5b-b793-0e5bdd86ae69", room: "bench",
            user: CommentAuthor(id: "anon-a953b3c5", name: "anonymous"),
            text: "这个主播太厉害了 amazing play!!! 666", color: "#ffffff", mode: .scroll, ts: 1_764_160_000_123)
    }

    Benchmark("encode a comment (once, at accept)") { benchmark in
        let value = comment(42)
        for _ in benchmark.scaledIterations {
            blackHole(try EncodedComment(value, room: room))
        }
    }

    let fifty = (1...50).map { try! EncodedComment(comment(UInt64($0)), room: room) }
    Benchmark("build a 50-comment batch frame") { benchmark in
        let allocator = ByteBufferAllocator()
        for _ in benchmark.scaledIterations {
            blackHole(ServerFrame.comments(room: room, comments: fifty, allocator: allocator))
        }
    }

    // A post's body as a page sends it: read by the comment's own decoder, and by Foundation's
    // JSONDecoder as it was before (side by side, the same body).
    let body = Array(##"{"text":"这个主播太厉害了 amazing play!!! 666","color":"#ffcc00","mode":"scroll","size":"normal"}"##.utf8)
    Benchmark("decode a comment post's body") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(CommentRequest.decode(from: body))
        }
    }
    Benchmark("decode a comment post's body with JSONDecoder (before)") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try? JSONDecoder().decode(CommentRequest.self, from: Data(body)))
        }
    }

    let words = (0..<10_000).map { "blocked\($0)word" }
    let filter = SensitiveWordFilter(words: words)
    let texts = (0..<64).map { index in
        String((0..<200).map { offset in Array("abcdefghij klmnopqrstuvwxyz 主播弹幕 ABC")[(index * 7 + offset * 13) % 36] })
    }
    Benchmark("filter a 200-character text against 10,000 words") { benchmark in
        for iteration in benchmark.scaledIterations {
            blackHole(filter.contains(in: texts[iteration % texts.count]))
        }
    }

    let limiter = RateLimiter(limits: [
        .user: RateLimit(perSecond: 1e9, burst: 1e9), .ip: RateLimit(perSecond: 1e9, burst: 1e9),
        .room: RateLimit(perSecond: 1e9, burst: 1e9),
    ])
    let keys = (0..<1000).map { [RateScope.user: "user\($0)", .ip: "10.0.\($0 % 250).1", .room: "room\($0 % 10)"] }
    Benchmark("rate-limit decision (user, IP and room buckets)") { benchmark in
        var now = 1_000_000.0
        for iteration in benchmark.scaledIterations {
            now += 0.000_01
            blackHole(limiter.acquire(keys: keys[iteration % keys.count], now: now))
        }
    }

    Benchmark(
        "fan one batch out to 10,000 viewers on one EventLoop",
        configuration: .init(metrics: metrics, maxDuration: .seconds(5), maxIterations: 200)
    ) { benchmark in
        let fanOut = try FanOutFixture(viewers: 10_000, room: room)
        var seq: UInt64 = 0
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            seq += 1
            fanOut.deliverAndFlush(try EncodedComment(comment(seq), room: room))
        }
        benchmark.stopMeasurement()
        fanOut.close()
    }
}

/// 10,000 viewer pipelines on one EmbeddedEventLoop, each ending in a sink that drops writes,
/// so a flush measures the server's own work per viewer: no socket, no kernel.
final class FanOutFixture {
    let loop = EmbeddedEventLoop()
    let hub: PushHub
    let room: RoomID
    var channels: [EmbeddedChannel] = []

    init(viewers: Int, room: RoomID) throws {
        self.room = room
        let bus = MemoryBus(historyCapacity: 10)
        let logic = LogicTier(configuration: LogicConfiguration(), log: bus, bus: bus)
        // One slice for the whole batch: each iteration measures one batch written to every viewer
        // (served in slices, the same work is spread over turns of the loop).
        var push = PushConfiguration()
        push.fanOutSlice = .seconds(1)
        hub = PushHub(
            configuration: push, eventLoops: [loop], services: logic.viewers, moderation: logic.moderation, log: bus, bus: bus,
            logger: Logger(label: "bench"))
        loop.run()
        for _ in 0..<viewers {
            let channel = EmbeddedChannel(loop: loop)
            try ViewerPipeline.addHandlers(
                to: channel, room: room, since: nil, clientAddress: "10.0.0.1", compression: false, hub: hub)
            // Ahead of the outlet: the frames end here instead of in the channel's buffer.
            try channel.pipeline.syncOperations.addHandler(DiscardingSink(), position: .first)
            try channel.connect(to: SocketAddress(ipAddress: "10.0.0.1", port: 5000)).wait()
            channels.append(channel)
        }
    }

    /// One comment in, one batch written to every viewer.
    func deliverAndFlush(_ comment: EncodedComment) {
        hub.deliver([comment], room: room)
        loop.run()
        loop.advanceTime(by: .milliseconds(10))
    }

    func close() {
        for channel in channels { _ = try? channel.finish() }
    }
}

/// Drops every write at the head of a pipeline.
final class DiscardingSink: ChannelOutboundHandler {
    typealias OutboundIn = ByteBuffer

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        promise?.succeed()
    }

    func flush(context: ChannelHandlerContext) {}
}
