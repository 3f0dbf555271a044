// Danmaku — a live-stream bullet-comment service.

import DanmakuBench
import Foundation
import NIOCore
import NIOPosix

/// The viewers of a load run: connecting them, replacing them (churn), and totting up what
/// each loop's viewers received.
extension LoadRun {
    /// Connects one viewer to `roomNames[room]` from the `index`-th source address.
    func connectViewer(
        index: Int, room: Int, roomNames: [String], group: MultiThreadedEventLoopGroup, counters: ConnectionCounters,
        statsForLoop: @escaping @Sendable (any EventLoop) -> LoopStats
    ) throws -> EventLoopFuture<ViewerRecord> {
        let handler = BenchViewer(
            path: "/v1/rooms/\(roomNames[room])/ws?v=\(wireFormat)", compression: compression, verifyEveryComment: index % verifyEvery == 0,
            counters: counters, statsForLoop: statsForLoop)
        let loop = group.next()
        let bound = NIOLoopBoundBox.makeBoxSendingValue(handler, eventLoop: loop)
        return ClientBootstrap(group: loop)
            .bind(to: try SocketAddress(ipAddress: sources[index % sources.count], port: 0))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            // Reads as large as a hot room's batches: a frame split over reads costs a copy.
            .channelOption(.recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 1024, initial: 16384, maximum: 262_144))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(bound.value) }
            }
            .connect(host: viewerEndpoint(index).host, port: viewerEndpoint(index).port)
            .map { ViewerRecord(room: room, handler: bound, channel: $0) }
    }

    /// Replaces `count` viewers: the oldest leave, new ones join rooms chosen round-robin, so
    /// connections and rooms come and go as in a real service.
    func churn(
        _ count: Int, viewers: inout [ViewerRecord], nextIndex: inout Int, roomNames: [String],
        group: MultiThreadedEventLoopGroup, counters: ConnectionCounters,
        statsForLoop: @escaping @Sendable (any EventLoop) -> LoopStats
    ) async throws {
        let leaving = viewers.prefix(min(count, viewers.count))
        viewers.removeFirst(leaving.count)
        for record in leaving {
            try? await record.handler.eventLoop.submit { record.handler.value.markStopping() }.get()
            record.channel.close(promise: nil)
        }
        var joining: [EventLoopFuture<ViewerRecord>] = []
        for _ in 0..<leaving.count {
            nextIndex += 1
            // A prime stride over the rooms: consecutive joiners land in different rooms.
            let room = (nextIndex * 7919) % roomNames.count
            let future = try connectViewer(
                index: nextIndex, room: room, roomNames: roomNames, group: group, counters: counters, statsForLoop: statsForLoop)
            future.whenFailure { _ in counters.didFail() }
            joining.append(future)
        }
        for future in joining { if let record = try? await future.get() { viewers.append(record) } }
    }

    /// Sleeps `seconds`, printing a progress line each second.
    func tick(
        seconds total: Double, label: String, loops: [any EventLoop], stats: [ObjectIdentifier: NIOLoopBound<LoopStats>],
        counters: ConnectionCounters, everySecond: () async throws -> Void = {}
    ) async throws {
        var previous = try await collect(loops: loops, stats: stats, reset: false).deliveries
        var remaining = total
        while remaining > 0 {
            let step = min(1, remaining)
            try await Task.sleep(for: .milliseconds(Int(step * 1000)))
            remaining -= step
            try await everySecond()
            let now = try await collect(loops: loops, stats: stats, reset: false)
            let p99 = now.latency.totalCount > 0 ? String(format: "%.1f ms", Double(now.latency.valueAtPercentile(99)) / 1000) : "-"
            progress("\(label): \(counters.connected) viewers, \(format(Double(now.deliveries &- previous) / step)) deliveries/s, p99 \(p99), missing \(now.missing), dup \(now.duplicated)")
            previous = now.deliveries
        }
    }

    func collect(loops: [any EventLoop], stats: [ObjectIdentifier: NIOLoopBound<LoopStats>], reset: Bool) async throws -> ViewerTotals {
        var merged = ViewerTotals()
        for loop in loops {
            let bound = stats[ObjectIdentifier(loop)]!
            merged.add(try await loop.submit { bound.value.snapshot(reset: reset) }.get())
        }
        return merged
    }
}
