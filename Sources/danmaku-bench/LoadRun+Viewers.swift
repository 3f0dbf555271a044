// Danmaku — a live-stream bullet-comment service.

import DanmakuBench
import Foundation
import NIOCore
import NIOPosix

/// The viewers of a load run: connecting them, replacing them (churn), and totting up what
/// each loop's viewers received.
extension LoadRun {
    /// Connects one viewer to `roomNames[room]` from the `index`-th source address; with
    /// `reconnect`, the viewer comes back to another push node when its socket closes.
    func connectViewer(
        index: Int, room: Int, roomNames: [String], group: MultiThreadedEventLoopGroup, counters: ConnectionCounters,
        statsForLoop: @escaping @Sendable (any EventLoop) -> LoopStats
    ) throws -> EventLoopFuture<ViewerRecord> {
        let source = sources[index % sources.count]
        let first = viewerEndpoints.isEmpty ? 0 : index % max(1, min(spreadOver, viewerEndpoints.count))
        let reconnection = viewerEndpoints.isEmpty ? nil : reconnect.map {
            ViewerReconnection(
                policy: ReconnectPolicy(endpoints: viewerEndpoints.count, spreadOver: spreadOver, firstDelay: $0), viewer: index,
                endpoints: viewerEndpoints, source: source)
        }
        let handler = BenchViewer(
            path: "/v1/rooms/\(roomNames[room])/ws?v=\(wireFormat)", compression: compression, verifyEveryComment: index % verifyEvery == 0,
            counters: counters, statsForLoop: statsForLoop, reconnection: reconnection, endpoint: first)
        let bound = NIOLoopBoundBox.makeBoxSendingValue(handler, eventLoop: group.next())
        let dialled = BenchViewer.dial(bound, from: source, to: viewerEndpoint(index))
        guard reconnection != nil else { return dialled.map { _ in ViewerRecord(room: room, handler: bound) } }
        // A viewer that comes back tries a failed first connection again: it is kept either way.
        return dialled.map { _ in ViewerRecord(room: room, handler: bound) }.flatMapError { _ in
            bound.value.connectFailed(on: bound.eventLoop)
            return bound.eventLoop.makeSucceededFuture(ViewerRecord(room: room, handler: bound))
        }
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
            try? await record.handler.eventLoop.submit { record.handler.value.stop() }.get()
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
        counters: ConnectionCounters, until finish: FinishSignal? = nil, everySecond: () async throws -> Void = {}
    ) async throws {
        var previous = try await collect(loops: loops, stats: stats, reset: false).deliveries
        var remaining = total
        while remaining > 0, !(finish?.raised ?? false) {
            let step = min(1, remaining)
            try await Task.sleep(for: .milliseconds(Int(step * 1000)))
            remaining -= step
            try await everySecond()
            let now = try await collect(loops: loops, stats: stats, reset: false)
            let p99 = now.latency.totalCount > 0 ? String(format: "%.1f ms", Double(now.latency.valueAtPercentile(99)) / 1000) : "-"
            let back = counters.dropped > 0 ? ", back \(counters.rejoined)/\(counters.dropped) dropped" : ""
            progress("\(label): \(counters.connected) viewers, \(format(Double(now.deliveries &- previous) / step)) deliveries/s, p99 \(p99), missing \(now.missing), dup \(now.duplicated)\(back)")
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
