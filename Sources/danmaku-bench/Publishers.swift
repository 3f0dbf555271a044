// Danmaku — a live-stream bullet-comment service.

import DanmakuBench
import NIOCore
import NIOPosix

/// A load run's publisher connections, each kept on its loop of the publishing group, and what
/// they posted.
struct Publishers {
    private var handlers: [NIOLoopBoundBox<Publisher>] = []

    var isEmpty: Bool { handlers.isEmpty }
    var count: Int { handlers.count }

    /// Connects `count` publishers to `host:port`, sharing `commentsPerSecond`; the `index`-th
    /// starts at room `index`. Against Nchan each room has one publisher, which numbers its
    /// comments: at most one publisher per room, the `index`-th owning every `count`-th room.
    static func connect(
        _ count: Int, group: MultiThreadedEventLoopGroup, host: String, port: Int, rooms: [String], commentsPerSecond: Double,
        textBytes: Int, repeatShare: Double, maxInFlight: Int, target: BenchTarget
    ) async throws -> Publishers {
        var publishers = Publishers()
        let count = target == .nchan ? min(count, rooms.count) : count
        for index in 0..<count {
            let loop = group.next()
            // Against Nchan a publisher's share follows the rooms it owns, so every room gets the same rate.
            let share = target == .nchan ? Double((rooms.count - index + count - 1) / count) / Double(rooms.count) : 1 / Double(count)
            let publisher = Publisher(
                rooms: rooms, ratePerSecond: commentsPerSecond * share,
                textBytes: textBytes, firstRoom: index, repeatShare: repeatShare, maxInFlight: maxInFlight,
                target: target, roomStride: target == .nchan ? count : 1)
            let bound = NIOLoopBoundBox.makeBoxSendingValue(publisher, eventLoop: loop)
            _ = try await ClientBootstrap(group: loop)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(bound.value) }
                }
                .connect(host: host, port: port).get()
            publishers.handlers.append(bound)
        }
        return publishers
    }

    /// Starts every publisher's post latency afresh (after the warm-up); the posts accepted so far.
    func resetLatency() async throws -> Int {
        var accepted = 0
        for bound in handlers {
            accepted += try await bound.eventLoop.submit { bound.value.resetLatency(); return bound.value.totals.accepted }.get()
        }
        return accepted
    }

    /// Their totals, added up.
    func totals() async throws -> PublishTotals {
        var totals = PublishTotals()
        for bound in handlers {
            totals.add(try await bound.eventLoop.submit { bound.value.totals }.get())
        }
        return totals
    }

    /// Stops every publisher; their totals, added up.
    func stop() async throws -> PublishTotals {
        var totals = PublishTotals()
        for bound in handlers {
            totals.add(try await bound.eventLoop.submit { bound.value.stop(); return bound.value.totals }.get())
        }
        return totals
    }
}
