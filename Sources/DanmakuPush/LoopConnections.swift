// Danmaku — a live-stream bullet-comment service.

import NIOCore

/// The viewer connections open on one loop, whatever rooms they watch: counted for the
/// connection gauge, kept alive by the shard's once-a-second sweep (`heartbeat`), and closed
/// at a drain.
///
/// Owned by a `PushShard`, touched only on that shard's loop, never locked.
final class LoopConnections {
    private var connections: [ObjectIdentifier: ViewerHandler] = [:]
    /// Pings written with a batch since the last sweep (`ViewerHandler.send(batch:through:)`),
    /// added to the metric once a sweep rather than once a viewer.
    var pingsCarried = 0
    private let metrics: PushMetrics

    init(metrics: PushMetrics) {
        self.metrics = metrics
    }

    /// Open viewer connections.
    var count: Int { connections.count }

    /// Counts a new viewer connection.
    func open(_ viewer: ViewerHandler) {
        guard connections.updateValue(viewer, forKey: ObjectIdentifier(viewer)) == nil else { return }
        metrics.viewers.increment()
    }

    /// Forgets a viewer connection.
    func close(_ viewer: ViewerHandler) {
        guard connections.removeValue(forKey: ObjectIdentifier(viewer)) != nil else { return }
        metrics.viewers.decrement()
    }

    /// Each connection's heartbeat, and the pings counted; returns the connections idle past the
    /// timeout, for the sweep to close.
    func heartbeat(now: NIODeadline) -> [ViewerHandler] {
        var expired: [ViewerHandler] = []
        var pinged = 0
        for viewer in connections.values {
            switch viewer.heartbeat(now: now) {
            case .notDue, .riding: break
            case .pinged: pinged += 1
            case .expired: expired.append(viewer)
            }
        }
        if pinged > 0 { metrics.pings.increment(by: pinged) }
        if pingsCarried > 0 {
            metrics.pingsCarried.increment(by: pingsCarried)
            pingsCarried = 0
        }
        return expired
    }

    /// Sends every viewer close 1001; the future completes when all their channels are closed.
    func drain(on eventLoop: any EventLoop) -> EventLoopFuture<Void> {
        var closed: [EventLoopFuture<Void>] = []
        for viewer in connections.values {
            if let future = viewer.closeFuture { closed.append(future) }
            viewer.close(code: .goingAway, reason: "server shutting down")
        }
        return EventLoopFuture.andAllComplete(closed, on: eventLoop)
    }
}
