// Danmaku — a live-stream bullet-comment service.

import DanmakuBus
import DanmakuCore
import Foundation
import NIOCore
import NIOWebSocket

/// One viewer's WebSocket: joins its rooms' `LoopRoom`s (the URL's room, then any it `join`s),
/// takes its messages (join, leave, comment), and closes the connection on idleness or when it
/// cannot keep up.
///
/// Sits after the `ProtocolGuard`, which hands it complete text messages and owns the frame
/// rules and the closing handshake. Everything it writes is a complete frame as bytes
/// (`ServerFrame`), written through the `FrameOutlet` at the head of the pipeline, so a batch
/// built once for a room goes to every viewer unchanged.
public final class ViewerHandler: ChannelInboundHandler, RemovableChannelHandler {
    public typealias InboundIn = ViewerInbound
    public typealias OutboundOut = ByteBuffer

    enum Phase {
        case waitingForChannel
        case open
        case closing
    }

    /// The room named in the URL, watched from the start.
    let firstRoom: RoomID
    /// Resume point asked for in the URL, and the epoch its seq belongs to.
    let firstSince: UInt64?
    let firstEpoch: Int64?
    /// The rooms this connection watches.
    var subscriptions = ViewerRooms()
    /// Whether the viewer negotiated permessage-deflate: batches go to it compressed, and its
    /// own messages may arrive compressed.
    let compressesBatches: Bool
    /// How comments are written in this viewer's batches (`?v=`).
    let format: WireFormat

    let hub: PushHub
    let clientAddress: String
    /// The token from the upgrade URL (`?token=`), for posts; nil for watch-only viewers.
    let token: String?
    /// The epoch of the last room said hello to (an event stream's ids carry it).
    private var helloEpoch: Int64 = 0
    var phase = Phase.waitingForChannel
    private var context: ChannelHandlerContext?
    /// Where frames are written: the WebSocket's `FrameOutlet` (at the head of the pipeline) or an
    /// `EventStreamOutlet` (the answer to an HTTP request, behind the HTTP handlers).
    private var outlet: (any ViewerOutlet)?
    var shard: PushShard?
    private var lastInbound = NIODeadline.uptimeNanoseconds(0)
    private var nextPing = NIODeadline.uptimeNanoseconds(0)
    /// Whether a batch was written since the last heartbeat: a store per batch, not a clock read.
    private var wroteBatch = false
    /// The heartbeat that last saw a batch written (see `heartbeat(now:)`).
    private var lastBatchSeen = NIODeadline.uptimeNanoseconds(0)
    /// A due ping waiting to leave with the next batch, and when it goes alone if none comes.
    private var pingRidesUntil: NIODeadline?
    var postsInFlight = 0
    /// The viewer's user id as it appears in comment JSON, once known (from its token, or from
    /// its first accepted post): a display budget never holds back a viewer's own comments.
    var authorID: [UInt8]?
    /// The most posts a viewer may have awaiting an answer; more are refused, not queued.
    static let maxPostsInFlight = 4

    /// A viewer of `room` from `clientAddress`, resuming after `since` when given; `compression`
    /// when permessage-deflate was negotiated in the upgrade.
    public init(
        room: RoomID, since: UInt64?, epoch: Int64? = nil, clientAddress: String, hub: PushHub, compression: Bool = false,
        token: String? = nil, format: WireFormat = .full
    ) {
        self.format = format
        self.firstEpoch = epoch
        self.token = token
        self.firstRoom = room
        self.firstSince = since
        self.compressesBatches = compression
        self.hub = hub
        self.clientAddress = clientAddress
    }

    private var isClosing: Bool {
        if case .closing = phase { return true }
        return false
    }

    var closeFuture: EventLoopFuture<Void>? { context?.channel.closeFuture }

    // MARK: Lifecycle

    public func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        let pipeline = context.pipeline.syncOperations
        outlet = (try? pipeline.handler(type: FrameOutlet.self)) ?? (try? pipeline.handler(type: EventStreamOutlet.self))
        precondition(outlet != nil, "ViewerHandler needs a FrameOutlet or an EventStreamOutlet in its pipeline")
        let now = context.eventLoop.now
        lastInbound = now
        nextPing = now + hub.configuration.pingInterval
        if context.channel.isActive { start(context: context) }
    }

    public func channelActive(context: ChannelHandlerContext) {
        start(context: context)
        context.fireChannelActive()
    }

    private func start(context: ChannelHandlerContext) {
        guard case .waitingForChannel = phase else { return }
        phase = .open
        let shard = hub.shard(for: context.eventLoop)
        self.shard = shard
        shard.open(self)
        // A resume reads the room's history after `since` (all of it for `since=0`): charged to
        // the address's read budget like a `join`, so reconnecting in a loop is not a free read.
        if firstSince != nil, let spent = hub.services.admitRead(clientAddress: clientAddress) {
            send(ViewerMessage.error(spent))
            return close(code: .policyViolation, reason: "read budget spent")
        }
        // A viewer with a token is known before its first batch, so that none of its own
        // comments is ever held back by a display budget.
        learnAuthor(context: context) { [self] in watch(firstRoom, since: firstSince, epoch: firstEpoch) }
    }

    /// With a token in the URL, learns the viewer's user id (its own comments are never shed),
    /// then calls `then`; at once without one. An invalid token only leaves the viewer unknown.
    private func learnAuthor(context: ChannelHandlerContext, then: @escaping () -> Void) {
        guard let token else { return then() }
        let (services, room) = (hub.services, firstRoom)
        context.eventLoop.makeFutureWithTask { await services.author(token: token, room: room) }
            .assumeIsolated().whenSuccess { [self] author in
                if let author, authorID == nil { authorID = EncodedComment.encodedAuthorID(author.id) }
                guard case .open = phase else { return }
                then()
            }
    }

    /// Starts watching `room`: the shard sends `hello` (and the history after `since`) once the
    /// room's feed is live.
    func watch(_ room: RoomID, since: UInt64?, epoch: Int64?) {
        // Once per room: a second subscription would be left in the room when the connection goes
        // (the room holds subscriptions, and a subscription does not keep its connection alive).
        guard subscriptions[room] == nil else { return }
        let subscription = RoomSubscription(room: room, since: since, epoch: epoch, viewer: self)
        subscriptions[room] = subscription
        shard?.join(subscription)
    }

    public func channelInactive(context: ChannelHandlerContext) {
        leaveRoom()
        phase = .closing
        context.fireChannelInactive()
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        leaveRoom()
        self.context = nil
        outlet = nil
    }

    /// Leaves every room and gives up the connection's place in the shard.
    private func leaveRoom() {
        guard case .open = phase else { return }
        for subscription in subscriptions.values { shard?.leave(subscription) }
        subscriptions.removeAll()
        shard?.close(self)
    }

    // MARK: Outbound

    /// Writes a complete frame, unless the viewer is closing.
    func send(_ frame: ByteBuffer) {
        guard case .open = phase else { return }
        outlet?.send(frame, batchThrough: nil, epoch: helloEpoch)
    }

    /// Writes a `comments` batch that brings the viewer to `seq` in its room (an event stream's
    /// event id), unless the viewer is closing.
    func send(batch frame: ByteBuffer, through seq: UInt64) {
        guard case .open = phase else { return }
        wroteBatch = true
        if pingRidesUntil != nil {
            pingRidesUntil = nil
            outlet?.writeBeforeNext(ServerFrame.ping)
            shard?.connections.pingsCarried += 1
            // The write may have made the viewer a slow consumer, closed at once: nothing goes
            // after its close frame.
            guard case .open = phase else { return }
        }
        outlet?.send(frame, batchThrough: seq, epoch: helloEpoch)
    }

    func sendHello(
        room: RoomID, lastSeq: UInt64, epoch: Int64, window: TimeAmount, delay: TimeAmount, online: Int, displayPerSecond: Int?
    ) {
        helloEpoch = epoch
        send(ViewerMessage.frame(ViewerMessage.Hello(
            room: room.value, node: hub.configuration.nodeName, lastSeq: lastSeq, epoch: epoch,
            batchWindowMs: Int(window.nanoseconds / 1_000_000), online: online, displayPerSecond: displayPerSecond,
            delayMs: Int(clamping: delay.nanoseconds / 1_000_000), v: format.rawValue)))
    }

    func sendGap(room: RoomID, from: UInt64, to: UInt64) {
        send(ViewerMessage.frame(ViewerMessage.Gap(room: room.value, from: from, to: to)))
    }

    /// Sends a ping when one is due; `.expired` when nothing came from the viewer for the idle
    /// timeout. Called once a second by the shard's sweep.
    ///
    /// A viewer of a room with comments is written a batch every window: its due ping rides on the
    /// next batch's write (one system call for both) instead of costing a write of its own, and
    /// goes alone only if no batch comes within `pingRideWait`. The pong is still what keeps the
    /// viewer open: a written batch says nothing about a client behind a proxy, or one whose
    /// kernel acknowledges while the application has stopped reading.
    func heartbeat(now: NIODeadline) -> Heartbeat {
        if wroteBatch {
            wroteBatch = false
            lastBatchSeen = now
        }
        if outlet?.answersPings ?? false, now - lastInbound >= hub.configuration.idleTimeout { return .expired }
        if let deadline = pingRidesUntil {
            guard now >= deadline else { return .notDue }
            pingRidesUntil = nil
            send(ServerFrame.ping)
            return .pinged
        }
        guard now >= nextPing else { return .notDue }
        let interval = hub.configuration.pingInterval
        nextPing = now + interval
        // A room that had a batch within the interval will most likely have another soon; a
        // ping waits for it only where the idle timeout leaves room for the wait (the default
        // 60 s against 20 s does; `--idle-timeout 25 --ping-interval 20` would not).
        let idle = hub.configuration.idleTimeout
        if now - lastBatchSeen < interval, idle.nanoseconds >= 2 * interval.nanoseconds {
            pingRidesUntil = now + min(Self.pingRideWait, .nanoseconds(interval.nanoseconds / 2))
            return .riding
        }
        send(ServerFrame.ping)
        return .pinged
    }

    /// How long a due ping waits for a batch to ride on: the widest window an overloaded room
    /// gets by default, so a busy room's pings never go alone.
    static let pingRideWait = TimeAmount.seconds(5)

    /// What a heartbeat did for one viewer.
    enum Heartbeat {
        /// No ping was due.
        case notDue
        /// A ping was written on its own.
        case pinged
        /// A ping was due and waits to leave with the next batch.
        case riding
        /// Nothing came from the viewer for the idle timeout.
        case expired
    }

    /// Starts the closing handshake: leaves the room, sends a close frame, and closes the socket
    /// when the viewer answers or after the close timeout.
    func close(code: WebSocketErrorCode, reason: String) {
        if case .closing = phase { return }
        leaveRoom()
        phase = .closing
        outlet?.close(code: code, reason: reason)
    }

    /// The guard is closing on its own (a violation, the viewer's close): nothing more is written.
    public func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ProtocolGuard.Closing {
            leaveRoom()
            phase = .closing
        }
        context.fireUserInboundEventTriggered(event)
    }

    public func channelWritabilityChanged(context: ChannelHandlerContext) {
        // Unwritable means the viewer has more than `maxUnwrittenBytes` queued: it cannot keep up.
        if !context.channel.isWritable, !isClosing {
            hub.metrics.slowConsumerCloses.increment()
            close(code: .policyViolation, reason: "slow consumer")
        }
        context.fireChannelWritabilityChanged()
    }

    // MARK: Inbound

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        lastInbound = context.eventLoop.now
        guard case .open = phase else { return }
        switch unwrapInboundIn(data) {
        case .text(let payload):
            handleMessage(Array(payload.readableBytesView), context: context)
        case .binary:
            close(code: .unacceptableData, reason: "binary frames are not supported")
        case .heartbeat:
            break
        }
    }

    public func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // Protocol errors are the guard's; anything else ends the connection.
        if case .closing = phase { return }
        context.close(promise: nil)
    }
}
