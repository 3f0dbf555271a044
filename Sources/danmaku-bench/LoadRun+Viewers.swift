// Danmaku — a live-stream bullet-comment service.

import DanmakuBench
import Foundation
import NIOCore
import NIOPosix

/// The viewers of a load run: connecting them, and replacing them (churn).
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
            path: target.viewerPath(room: roomNames[room], wireFormat: wireFormat), compression: compression,
            verifyEveryComment: index % verifyEvery == 0, counters: counters, statsForLoop: statsForLoop, reconnection: reconnection,
            endpoint: first, saysHello: target.saysHello)
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
}
