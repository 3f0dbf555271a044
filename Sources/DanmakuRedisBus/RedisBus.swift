// Danmaku — a live-stream bullet-comment service.

import DanmakuBus
import DanmakuCore
import DanmakuRedis
import Foundation
import Logging
import NIOCore
import Synchronization

/// The distributed bus: seqs and history in Redis streams, live comments over sharded pub/sub.
///
/// Logic nodes number and store each comment with one script call (counter and stream together),
/// so a 201 is only sent once the comment is in Redis, then publish each room's accepted comments
/// as one message per `publishWindow`. Push nodes subscribe to a room's channel only while they
/// have viewers in it, and read from the stream whatever pub/sub did not bring (see `SeqTracker`).
/// Redis unreachable: `append` fails at once (the API answers 503), subscriptions and gaps are
/// restored when it returns.
public final class RedisBus: CommentBus, CommentLog {
    /// Comments kept per room (streams are trimmed to about this many).
    public let historyCapacity: Int
    /// How long accepted comments collect before a room's batch is published.
    public let publishWindow: TimeAmount
    /// Commands and subscriptions, on one server or across a cluster's masters.
    let redis: RedisRouter
    let feeds: RedisFeeds
    let eventLoop: any EventLoop
    let logger: Logger
    let metrics: BusMetrics
    let scripts = RedisScriptCache()
    /// Each room's accepted comments, published as one message per `publishWindow`.
    private let publisher: RoomBatchPublisher
    /// Rooms' counters, for the feeds' polls.
    let roomCounters: RoomCounterReader
    /// Rooms' streams, for what the feeds did not get by pub/sub.
    let roomStreams: RoomStreamReader
    /// Unconfirmed comments being taken back out.
    let withdrawals: Withdrawals
    private let maintenance = Mutex<RepeatedTask?>(nil)

    /// How long a room's keys outlive its last post; nil: forever.
    let roomIdleMilliseconds: Int64?
    /// Watched rooms' keys are renewed this often (maintenance ticks of 100 ms): a room with
    /// viewers is never forgotten under them.
    static let renewEvery = 600

    /// The replicas that must confirm a comment or a retraction before it is answered.
    let replicas: ReplicaConfirmation
    /// Whether every master has `minReplicas` replicas in sync now.
    let replicaSync: ReplicaSyncWatch
    /// Replicas are checked this often (maintenance ticks of 100 ms).
    static let replicaCheckEvery = 5

    /// A missing seq is read from the stream once it has been missing this long.
    static let repairGrace = TimeAmount.milliseconds(250)
    /// Room counters are polled this often, to notice a lost last message of a burst.
    static let pollEvery = 10  // maintenance ticks of 100 ms

    /// - Parameters:
    ///   - address: one Redis server, or any node of a Redis Cluster (found out at start).
    ///   - roomIdleMilliseconds: a room's keys expire this long after its last post (push nodes
    ///     with viewers in it renew them); nil: never.
    ///   - minReplicas: with N > 0, a comment counts as stored only once `WAIT` says N replicas
    ///     have it (within `replicaTimeout`); otherwise it is taken back out and `append` throws.
    ///     A retraction likewise counts as done only once N replicas have it (`retract`).
    public init(
        address: RedisAddress, eventLoop: any EventLoop, historyCapacity: Int, publishWindow: TimeAmount = .milliseconds(5),
        commandTimeout: TimeAmount = .seconds(2), roomIdleMilliseconds: Int64? = nil,
        minReplicas: Int = 0, replicaTimeout: TimeAmount = .milliseconds(500),
        logger: Logger, metrics: BusMetrics = BusMetrics()
    ) {
        self.replicas = ReplicaConfirmation(needed: minReplicas, timeoutMilliseconds: Int(replicaTimeout.nanoseconds / 1_000_000))
        self.replicaSync = ReplicaSyncWatch(needed: minReplicas, logger: logger)
        self.historyCapacity = historyCapacity
        self.roomIdleMilliseconds = roomIdleMilliseconds
        self.publishWindow = publishWindow
        self.eventLoop = eventLoop
        self.logger = logger
        self.metrics = metrics
        self.withdrawals = Withdrawals(logger: logger)
        let feeds = RedisFeeds(metrics: metrics, logger: logger)
        self.feeds = feeds
        let scripts = scripts
        let redis = RedisRouter(
            seed: address, eventLoop: eventLoop, commandTimeout: commandTimeout, logger: logger,
            onConnect: { connection in scripts.load(on: connection) },
            subscriber: RedisRouter.Subscriber(
                onMessage: { channel, payload in feeds.receive(channel: channel, payload: payload) },
                onUnsubscribed: { channel in feeds.channels.unsubscribedByServer(channel: channel) },
                onConnect: { connection, node in feeds.channels.resubscribe(on: connection, node: node) }))
        self.redis = redis
        self.publisher = RoomBatchPublisher(window: publishWindow, redis: redis, eventLoop: eventLoop, metrics: metrics)
        self.roomCounters = RoomCounterReader(redis: redis, scripts: scripts, metrics: metrics, logger: logger)
        self.roomStreams = RoomStreamReader(redis: redis)
        feeds.table.owner.withLock { $0 = self }
    }

    /// Connects (to every master, on a cluster) and starts the repair and poll timer.
    public func start() {
        redis.start()
        let tick = NIOLoopBoundBox.makeBoxSendingValue(0, as: Int.self, eventLoop: eventLoop)
        let task = eventLoop.scheduleRepeatedTask(initialDelay: .milliseconds(100), delay: .milliseconds(100)) { [self] _ in
            tick.value += 1
            feeds.maintain(bus: self, poll: tick.value % Self.pollEvery == 0)
            if tick.value % Self.renewEvery == 0 { renewWatchedRooms() }
            if tick.value % Self.replicaCheckEvery == 1 { replicaSync.check(on: redis) }
        }
        maintenance.withLock { $0 = task }
    }

    /// Waits until every connection is up (for startup and tests).
    public func waitForConnection(timeout: Duration = .seconds(5)) async throws {
        try await redis.waitForConnection(timeout: timeout)
    }

    /// The deployment's salt for anonymous authors' ids (`AnonymousIdentity`): made by the first
    /// node that asks and read by every other, so an address is one author on every node, and
    /// kept (a restart keeps the ids). A value that cannot be a salt (too short, another type) is
    /// replaced, as a missing one is made.
    public func anonymousSalt() async throws -> [UInt8] {
        var fresh = [UInt8](repeating: 0, count: 32)
        var generator = SystemRandomNumberGenerator()
        for index in fresh.indices { fresh[index] = generator.next() }
        let reply = try await scripts.run(
            RedisScripts.anonymousSalt, keys: ["danmaku:anonymous-salt"], arguments: [RESPArgument(bytes: ByteBuffer(bytes: fresh))],
            on: redis
        ).get()
        guard let salt = reply.bytes, salt.readableBytes >= 16 else { throw RedisError.unexpectedReply("anonymous salt: \(reply)") }
        return Array(salt.readableBytesView)
    }

    /// Publishes what is waiting, stops the timer and closes the connections.
    public func shutdown() async {
        maintenance.withLock { $0?.cancel() }
        try? await eventLoop.submit { self.publisher.flush() }.get()
        await redis.close()
        feeds.table.owner.withLock { $0 = nil }
    }

    /// Whether every connection (commands and subscriptions, to each master) is up.
    public var isConnected: Bool { redis.isConnected }

    /// Whether some of Redis can be used (see `RedisRouter.isReachable`): what readiness reports.
    public var isReachable: Bool { redis.isReachable }

    /// With `minReplicas` set, until every master has been seen with that many replicas in sync:
    /// why not (which master is short, or could not be asked; it names Redis addresses, so it is
    /// logged, not answered to clients); nil once they have.
    public var replicaShortfall: String? { replicaSync.reason }

    /// One server or a cluster (or not known yet).
    public var mode: RedisRouter.Mode { redis.mode }

    /// Rooms this node holds a subscription for.
    public var subscribedRooms: Int { feeds.count }

    // MARK: CommentLog

    public func append(room: RoomID, unnumbered: ByteBuffer) async throws -> EncodedComment {
        let outcome = try await store(
            room: room, unnumbered: unnumbered, script: RedisScripts.append, keys: RedisKeys(room).numbering,
            arguments: [RESPArgument(bytes: unnumbered), RESPArgument(historyCapacity), RESPArgument(roomIdleMilliseconds.map(String.init) ?? "")]
        ) { reply in
            guard let seq = reply.integer else { throw RedisError.unexpectedReply("append: \(reply)") }
            return .admitted(seq)
        }
        // `append` refuses nothing.
        guard case .success(let comment) = outcome else { throw RedisError.unexpectedReply("append refused a comment") }
        return comment
    }

    /// `RedisModeration.admit` for `user`'s post and, when it admits it, `append`, in one script
    /// call (`RedisScripts.admitAndAppend`): the refusal (nothing recorded), or the stored comment.
    /// Throws as `append` does.
    func admitAndAppend(room: RoomID, unnumbered: ByteBuffer, user: String, styled: Bool) async throws -> Result<EncodedComment, DanmakuError> {
        try await store(
            room: room, unnumbered: unnumbered, script: RedisScripts.admitAndAppend,
            keys: RedisKeys.admission(room, user: user) + RedisKeys(room).numbering,
            arguments: [
                styled ? "1" : "0", RESPArgument(bytes: unnumbered), RESPArgument(historyCapacity),
                RESPArgument(roomIdleMilliseconds.map(String.init) ?? ""),
            ],
            read: AdmissionVerdict.init, withdrawn: { AdmittedThenWithdrawn($0) })
    }

    /// Runs `script`, which numbers and stores `unnumbered` or refuses it (`read` tells its reply:
    /// the seq, or the refusal), with `WAIT` for `--bus-min-replicas` right behind it; a comment
    /// the replicas did not confirm in time is withdrawn and the post fails.
    private func store(
        room: RoomID, unnumbered: ByteBuffer, script: String, keys: [String], arguments: [RESPArgument],
        read: (RESPValue) throws -> AdmissionVerdict, withdrawn: (String) -> any Error = { RedisError.unavailable($0) }
    ) async throws -> Result<EncodedComment, DanmakuError> {
        // A master promoted in a failover may lack a withdrawn comment and be behind on the room's
        // counter: the withdrawal raises it, and until it has, a new comment could take that seq.
        if withdrawals.arePending(in: room) {
            throw RedisError.unavailable("a comment of this room is still being withdrawn")
        }
        let answers: [Result<RESPValue, any Error>]
        do {
            answers = try await scripts.run(script, keys: keys, arguments: arguments, on: redis, followedBy: replicas.commands).get()
        } catch let error as RedisError where error.mayHaveRun {
            throw AppendOutcomeUnknown(error.description)
        }
        let outcome = try Self.outcome(of: answers, unnumbered: unnumbered, room: room, read: read)
        guard case .success(let comment) = outcome else { return outcome }
        if let shortfall = replicas.shortfall(in: answers, of: "comment") {
            metrics.unreplicated.increment()
            await withdrawals.withdraw(comment, attempt: tryToWithdraw)
            throw withdrawn(shortfall)
        }
        return outcome
    }

    /// `admitAndAppend` as one script call whose answer is the outcome, through a future (on the
    /// bus's loop): for a post waiting on its connection's loop (`LoopPosting`). Only when no
    /// replica must confirm the comment (`RedisModeration.appendsInOneCall`); a failure is what
    /// `admitAndAppend` throws.
    func admitAndAppendInOneCall(room: RoomID, unnumbered: ByteBuffer, user: String, styled: Bool) -> EventLoopFuture<Result<EncodedComment, DanmakuError>> {
        if withdrawals.arePending(in: room) {
            return eventLoop.makeFailedFuture(RedisError.unavailable("a comment of this room is still being withdrawn"))
        }
        return scripts.run(
            RedisScripts.admitAndAppend, keys: RedisKeys.admission(room, user: user) + RedisKeys(room).numbering,
            arguments: [
                styled ? "1" : "0", RESPArgument(bytes: unnumbered), RESPArgument(historyCapacity),
                RESPArgument(roomIdleMilliseconds.map(String.init) ?? ""),
            ],
            on: redis, followedBy: []
        ).flatMapErrorThrowing { error in
            if let error = error as? RedisError, error.mayHaveRun { throw AppendOutcomeUnknown(error.description) }
            throw error
        }.flatMapThrowing { answers in
            try Self.outcome(of: answers, unnumbered: unnumbered, room: room, read: AdmissionVerdict.init)
        }
    }

    /// The outcome a numbering script's answer (the first of `answers`) tells: the refusal, or
    /// the comment stored with its seq. Throws `AppendOutcomeUnknown` when the script may have
    /// run but its answer was lost, and on an answer that is neither.
    private static func outcome(
        of answers: [Result<RESPValue, any Error>], unnumbered: ByteBuffer, room: RoomID, read: (RESPValue) throws -> AdmissionVerdict
    ) throws -> Result<EncodedComment, DanmakuError> {
        let reply: RESPValue
        do {
            reply = try answers[0].get()
        } catch let error as RedisError where error.mayHaveRun {
            throw AppendOutcomeUnknown(error.description)
        }
        let seq: Int64
        switch try read(reply) {
        case .refused(let refusal): return .failure(refusal)
        case .admitted(let value): seq = value
        }
        guard seq > 0 else { throw RedisError.unexpectedReply("append: \(reply)") }
        return .success(EncodedComment(numbering: unnumbered, seq: UInt64(clamping: seq), room: room))
    }

    /// The bus's background work, as long as the bus runs (`RedisPart`, a `Service` of the
    /// server, around `shutdown()`): the retries of withdrawals that could not be done at once.
    /// Returns once `stopBackgroundWork()` was called and every retry has ended.
    public func run() async {
        await withdrawals.run(attempt: tryToWithdraw)
    }

    /// Ends `run()`: retries under way make their last attempt; later withdrawals are tried once.
    public func stopBackgroundWork() {
        withdrawals.stop()
    }

    /// Takes an unconfirmed comment back out once (`Withdrawals`): deleted from the stream, and
    /// its retraction recorded and published in the same script, in case a push node already read
    /// it from there. Its seq stays unused.
    @Sendable private func tryToWithdraw(_ comment: EncodedComment) async -> Bool {
        let keys = RedisKeys(comment.room)
        guard let id = try? comment.decoded().id else { return true }
        do {
            _ = try await scripts.run(
                RedisScripts.withdraw, keys: [keys.log] + keys.retractionRecord + [keys.seq],
                arguments: [
                    RESPArgument(String(comment.seq)), RESPArgument(EncodedComment.idMarker(id)), RESPArgument(keys.channel),
                    RESPArgument(id),
                ],
                on: redis
            ).get()
            return true
        } catch {
            return false
        }
    }

    public func snapshot(room: RoomID, since: UInt64?, limit: Int, retracted: Bool, on eventLoop: any EventLoop) -> EventLoopFuture<HistorySnapshot> {
        let keys = RedisKeys(room)
        let count = min(limit, historyCapacity + 1000)
        return scripts.run(
            RedisScripts.snapshot, keys: keys.numbering,
            arguments: [RESPArgument(since.map(String.init) ?? ""), RESPArgument(count), RESPArgument(historyCapacity), RESPArgument(retracted ? "1" : "0")],
            on: redis
        ).flatMapThrowing { reply in
            guard let parts = reply.array, parts.count == 5, let last = parts[0].integer, let first = parts[1].integer,
                  let epoch = parts[3].integer, let retractedLines = parts[4].array else {
                throw RedisError.unexpectedReply("snapshot: \(reply)")
            }
            var comments = count == 0 ? [] : try parts[2].streamComments(room: room)
            if since == nil { comments.reverse() }
            let retracted = retractedLines.compactMap { line in
                line.bytes.flatMap(RetractionLine.init(line:)).map { RetractedComment(seq: $0.seq, id: $0.id, reason: $0.reason) }
            }
            return HistorySnapshot(
                lastSeq: UInt64(clamping: last), firstAvailableSeq: UInt64(clamping: max(1, first)), comments: comments, epoch: epoch,
                retracted: retracted)
        }.hop(to: eventLoop)
    }

    public func comment(room: RoomID, id: String) async throws -> EncodedComment? {
        let reply = try await scripts.run(
            RedisScripts.find, keys: [RedisKeys(room).log], arguments: [RESPArgument(EncodedComment.idMarker(id))], on: redis
        ).get()
        if reply.isNull { return nil }
        guard let json = reply.bytes, let comment = EncodedComment(numberedJSON: json, room: room) else {
            throw RedisError.unexpectedReply("find: \(reply)")
        }
        return comment
    }

    /// Takes the comment out of the stream and publishes its retraction, in one script.
    ///
    /// With `minReplicas` set, the retraction is confirmed like a comment: a retraction only the
    /// master had is undone by a failover to a replica without it (the comment is back in
    /// history), so it is answered only once `WAIT` says the replicas have it, and otherwise
    /// fails as unavailable. It stays done on the master and its viewers were told; a retry finds
    /// it in the room's retraction record and waits for the replicas again
    /// (`RedisScripts.retract`).
    public func retract(room: RoomID, id: String, reason: RetractReason?) async throws -> UInt64? {
        let keys = RedisKeys(room)
        let answers = try await scripts.run(
            RedisScripts.retract, keys: [keys.log] + keys.retractionRecord,
            arguments: [
                RESPArgument(EncodedComment.idMarker(id)), RESPArgument(EncodedComment.noticeIDMarker(id)),
                RESPArgument(keys.channel), RESPArgument(id), RESPArgument(reason?.rawValue ?? ""), RESPArgument(replicas.isOn ? "1" : "0"),
            ],
            on: redis, followedBy: replicas.commands
        ).get()
        let reply = try answers[0].get()
        guard let seq = reply.integer else { throw RedisError.unexpectedReply("retract: \(reply)") }
        guard seq > 0 else { return nil }
        if let shortfall = replicas.shortfall(in: answers, of: "retraction") { throw RedisError.unavailable(shortfall) }
        return UInt64(clamping: seq)
    }

    /// Records that a failover lost comment `id` at `seq` of numbering `epoch`, which this push
    /// node passed on and has just taken off its viewers' screens (`RedisScripts.recordLost`), so
    /// that the other push nodes and resuming viewers are told too. A failure is logged: the
    /// comment then stays on the screens of other nodes' viewers that were shown it.
    func recordLost(room: RoomID, seq: UInt64, id: String, epoch: Int64) {
        // Lua holds numbers as doubles: past 2^53 a comparison would be inexact.
        guard seq <= 1 << 53, epoch > 0 else { return }
        let keys = RedisKeys(room)
        scripts.run(
            RedisScripts.recordLost, keys: [keys.log] + keys.retractionRecord + [keys.seq, keys.epoch],
            arguments: [
                RESPArgument(String(seq)), RESPArgument(EncodedComment.idMarker(id)), RESPArgument(keys.channel), RESPArgument(id),
                RESPArgument(String(epoch)),
            ],
            on: redis
        ).whenFailure { [self] error in
            logger.warning("could not record a lost comment's retraction; other push nodes may keep it on screen", metadata: [
                "room": "\(room)", "seq": "\(seq)", "error": "\(error)",
            ])
        }
    }

    /// Renews the keys of the rooms this node watches for another idle period.
    private func renewWatchedRooms() {
        guard let idle = roomIdleMilliseconds else { return }
        for room in feeds.rooms {
            for key in RedisKeys(room).numbering {
                _ = redis.send(RESPCommand("PEXPIRE", [RESPArgument(key), RESPArgument(String(idle))]), key: key)
            }
        }
    }

    // MARK: CommentBus

    public func publish(_ comments: [EncodedComment], room: RoomID) async throws {
        publishNow(comments, room: room)
    }

    /// Nothing to do: `retract` published the retraction with the deletion (the chaos harness found
    /// retractions lost between the two when they were separate steps: docs/GUARANTEES.md), and
    /// numbered it, so that a push node whose subscription is down as it is published reads it
    /// back.
    public func publishRetraction(seq: UInt64, id: String, room: RoomID, reason: RetractReason?) async throws {}

    /// Sent at once, as a line of its own on the room's channel; a push node that misses it shows
    /// the old count until the comment's next like.
    public func publishLikes(_ likes: [LikeCount], room: RoomID) async throws {
        let line = try WireCodec.encode(LikeCountsLine(likes: likes))
        let channel = RedisKeys(room).channel
        _ = try await redis.send(RESPCommand("SPUBLISH", [RESPArgument(channel), RESPArgument(bytes: line)]), key: channel).get()
    }

    public func subscribe(_ room: RoomID, subscriber: any BusSubscriber, on eventLoop: any EventLoop) -> EventLoopFuture<Void> {
        feeds.add(room, subscriber: subscriber, bus: self).hop(to: eventLoop)
    }

    public func unsubscribe(_ room: RoomID, subscriber: any BusSubscriber) {
        feeds.remove(room, subscriber: subscriber, bus: self)
    }
}

extension RedisBus: ImmediateCommentBus {
    /// Adds the comments to their room's next published batch (`RoomBatchPublisher`): a publish
    /// waits for nothing, so a post on its connection's loop publishes without a task
    /// (`LoopPosting`). The comments are already in the stream: a lost publish is repaired by the
    /// push nodes.
    public func publishNow(_ comments: [EncodedComment], room: RoomID) {
        publisher.publish(comments, room: room)
    }
}
