// Danmaku — a live-stream bullet-comment service.

import DanmakuBus
import DanmakuCore
import Foundation
import Logging
import NIOCore
import Tracing
import Synchronization

/// The push role of one node: one `PushShard` per EventLoop, and the room subscriptions that feed them.
///
/// A room is subscribed on the bus while any loop of this node has a viewer in it; each bus
/// message is handed to exactly the loops that have the room, as one task each.
public final class PushHub: BusSubscriber, Sendable {
    /// The push settings.
    public let configuration: PushConfiguration
    /// What viewers' sockets ask of the logic tier (posts, tokens, the read budget).
    let services: any ViewerServices
    /// Room settings: each room's display budget.
    let moderation: any ModerationStore
    let log: any CommentLog
    let bus: any CommentBus
    let logger: Logger
    let metrics: PushMetrics
    /// Viewers per room across the deployment, as of the last presence exchange.
    let online: OnlineDirectory
    /// How long each loop slept, when the server measures it (the windows' headroom).
    let loopSleep: LoopSleepMeter?
    private let shards: [NIOLoopBoundBox<PushShard?>]
    private let shardIndex: [ObjectIdentifier: Int]

    private struct Route {
        var loops: Set<Int>
        var ready: EventLoopFuture<Void>
    }

    private let routes = Mutex<[RoomID: Route]>([:])
    /// The display budgets of the rooms this node has, as last read from their settings.
    private let policies = Mutex<[RoomID: RoomPolicy]>([:])

    /// Creates the hub and one shard on each of `eventLoops`.
    ///
    /// Each shard is created by a task on its loop; a connection accepted later on that loop
    /// is handled after the task, so it always finds its shard.
    public init(
        configuration: PushConfiguration, eventLoops: [any EventLoop], services: any ViewerServices,
        moderation: any ModerationStore,
        log: any CommentLog, bus: any CommentBus, logger: Logger, metrics: PushMetrics = PushMetrics(),
        online: OnlineDirectory = OnlineDirectory(), loopSleep: LoopSleepMeter? = nil
    ) {
        self.loopSleep = loopSleep
        self.online = online
        self.configuration = configuration
        self.metrics = metrics
        self.services = services
        self.moderation = moderation
        self.log = log
        self.bus = bus
        self.logger = logger
        self.shards = eventLoops.map { NIOLoopBoundBox.makeEmptyBox(valueType: PushShard.self, eventLoop: $0) }
        var index: [ObjectIdentifier: Int] = [:]
        for (position, loop) in eventLoops.enumerated() { index[ObjectIdentifier(loop)] = position }
        self.shardIndex = index
        for (position, box) in shards.enumerated() {
            box.eventLoop.execute { [self] in
                let shard = PushShard(eventLoop: box.eventLoop, index: position, hub: self)
                box.value = shard
                shard.start()
            }
        }
    }

    /// Number of loops (each has a shard and its share of the send budget).
    var shardCount: Int { shards.count }

    /// The shard of `eventLoop`; call on that loop.
    func shard(for eventLoop: any EventLoop) -> PushShard {
        guard let index = shardIndex[ObjectIdentifier(eventLoop)], let shard = shards[index].value else {
            preconditionFailure("a viewer arrived on an EventLoop the push hub was not built for")
        }
        return shard
    }

    // MARK: Subscriptions

    /// Notes that loop `shard` has viewers in `room`; the future completes (on that loop) when
    /// the room's bus subscription is live.
    func attach(_ room: RoomID, shard: Int) -> EventLoopFuture<Void> {
        let loop = shards[shard].eventLoop
        let ready = routes.withLock { routes -> EventLoopFuture<Void> in
            if var route = routes[room] {
                route.loops.insert(shard)
                routes[room] = route
                return route.ready
            }
            // Subscribing under the lock keeps subscribe/unsubscribe calls in order.
            var ready = bus.subscribe(room, subscriber: self, on: loop)
            // The room's display budget is known before its first viewer is let in, so the
            // viewer's `hello` says whether the room sheds: at once from a store in this
            // process, otherwise once read.
            if let settings = moderation.localSettings(room: room) {
                let policy = RoomPolicy(settings, defaults: configuration)
                policies.withLock { $0[room] = policy }
            } else {
                ready = ready.flatMap { [self] in
                    loop.makeFutureWithTask { await self.refreshRoomPolicies(rooms: [room]) }
                }
            }
            routes[room] = Route(loops: [shard], ready: ready)
            return ready
        }
        return ready.hop(to: loop)
    }

    /// Notes that loop `shard` has no viewer left in `room`.
    func detach(_ room: RoomID, shard: Int) {
        routes.withLock { routes in
            guard var route = routes[room] else { return }
            route.loops.remove(shard)
            if route.loops.isEmpty {
                routes[room] = nil
                policies.withLock { $0[room] = nil }
                bus.unsubscribe(room, subscriber: self)
            } else {
                routes[room] = route
            }
        }
    }

    /// From the bus: hands the comments to each loop that has the room.
    public func deliver(_ comments: [EncodedComment], room: RoomID) {
        let loops = routes.withLock { $0[room]?.loops }
        guard let loops else { return }
        // Published in this process inside a span: the batch carrying them continues its trace.
        let trace = ServiceContext.current.flatMap { $0.isEmpty ? nil : $0 }
        if let accepted = comments.first?.acceptedAtMilliseconds {
            let now = currentTimeMillis()
            metrics.busLatency.recordNanoseconds(max(0, now - accepted) * 1_000_000)
        }
        for index in loops {
            let box = shards[index]
            box.eventLoop.execute {
                box.value?.receive(comments, room: room, trace: trace)
            }
        }
    }

    /// From the bus: tells each loop that has the room to take the comment back.
    public func retract(seq: UInt64, id: String, room: RoomID, seqReused: Bool, reason: RetractReason?) {
        let loops = routes.withLock { $0[room]?.loops }
        guard let loops else { return }
        for index in loops {
            let box = shards[index]
            box.eventLoop.execute {
                box.value?.retract(seq: seq, id: id, room: room, seqReused: seqReused, reason: reason)
            }
        }
    }

    /// From the bus: comments numbered again by a failover, told to each loop's viewers as gaps.
    public func renumbered(_ comments: [EncodedComment], room: RoomID) {
        let loops = routes.withLock { $0[room]?.loops }
        guard let loops else { return }
        logger.warning("a failover numbered comments with seqs already passed; viewers are told a gap", metadata: [
            "room": "\(room)", "seqs": "\(comments.map(\.seq))",
        ])
        for index in loops {
            let box = shards[index]
            box.eventLoop.execute {
                box.value?.renumbered(comments, room: room)
            }
        }
    }

    /// From the bus: tells each loop that has the room the like counts that changed.
    public func liked(_ likes: [LikeCount], room: RoomID) {
        let loops = routes.withLock { $0[room]?.loops }
        guard let loops else { return }
        for index in loops {
            let box = shards[index]
            box.eventLoop.execute {
                box.value?.liked(likes, room: room)
            }
        }
    }

    // MARK: Online counts

    /// Viewers per room on this node (those still joining included), summed over its loops.
    public func localCounts() async -> [RoomID: Int] {
        var counts: [RoomID: Int] = [:]
        for box in shards {
            let shardCounts = (try? await box.eventLoop.submit { box.value?.roomCounts() ?? [:] }.get()) ?? [:]
            counts.merge(shardCounts, uniquingKeysWith: +)
        }
        return counts
    }

    /// Sends `online` to the viewers of every room whose count changed since it was last sent.
    public func announceOnline() {
        for box in shards {
            box.eventLoop.execute { box.value?.announceOnline() }
        }
    }

    // MARK: Display budgets

    /// Reads the settings of every room this node has (its display budget, whether it merges
    /// repeats) and applies them on each loop that has the room. Run on each presence tick, and
    /// for a room as soon as it is first attached.
    public func refreshRoomPolicies(rooms: [RoomID]? = nil) async {
        let wanted = rooms ?? routes.withLock { Array($0.keys) }
        var read: [RoomID: RoomPolicy] = [:]
        for room in wanted {
            // A store that cannot answer leaves the policy as it was.
            guard let settings = try? await moderation.settings(room: room) else { continue }
            read[room] = RoomPolicy(settings, defaults: configuration)
        }
        guard !read.isEmpty else { return }
        let fresh = read  // a constant for the loops' tasks
        policies.withLock { known in
            for (room, policy) in fresh { known[room] = policy }
        }
        for box in shards {
            box.eventLoop.execute { box.value?.setRoomPolicies(fresh) }
        }
    }

    /// How `room` is sent, as last read (for a loop that starts holding the room).
    func policy(_ room: RoomID) -> RoomPolicy {
        policies.withLock { $0[room] } ?? RoomPolicy(RoomSettings(), defaults: configuration)
    }

    /// Rooms this node is subscribed to.
    public var subscribedRooms: Int { routes.withLock { $0.count } }

    // MARK: Lifecycle

    /// Viewers connected to this node, summed over its loops.
    public func viewerCount() async throws -> Int {
        var total = 0
        for box in shards {
            total += try await box.eventLoop.submit { box.value?.viewerCount ?? 0 }.get()
        }
        return total
    }

    /// Sends close 1001 to every viewer and waits until they are gone (at most the close timeout each).
    public func drain() async {
        try? await closing()?.get()
    }

    /// `drain()`, waiting at most `timeout`: a viewer that never answers its close is cut off by
    /// its close timeout anyway. The bound is a timer on a loop, so nothing is left running.
    public func drain(timeout: TimeAmount) async {
        guard let loop = shards.first?.eventLoop, let closed = closing() else { return }
        let bounded = loop.submit {
            let done = loop.makePromise(of: Void.self)
            let timer = loop.scheduleTask(in: timeout) { done.succeed() }
            // Whichever comes first completes it; NIO ignores the second completion.
            closed.hop(to: loop).whenComplete { _ in
                timer.cancel()
                done.succeed()
            }
            return done.futureResult
        }.flatMap { $0 }
        try? await bounded.get()
    }

    /// Starts every shard's drain at once (all viewers get their close frame together); the
    /// future completes when every viewer's channel is closed (nil: a hub without loops).
    private func closing() -> EventLoopFuture<Void>? {
        guard let loop = shards.first?.eventLoop else { return nil }
        let closing = shards.map { box in
            box.eventLoop.flatSubmit { box.value?.drain() ?? box.eventLoop.makeSucceededVoidFuture() }
        }
        return EventLoopFuture.andAllComplete(closing, on: loop)
    }

    /// Stops the shards' timers; call after `drain`, before the loops shut down.
    public func stop() async {
        for box in shards {
            try? await box.eventLoop.submit {
                box.value?.stop()
                box.value = nil
            }.get()
        }
    }
}
