// Danmaku — a live-stream bullet-comment service.

import DanmakuBus
import DanmakuCore
import DanmakuRedis
import Foundation
import Logging
import NIOCore
import Synchronization

/// A push node's room feeds on the distributed bus: who subscribes to each room, and handing them
/// what arrives on its channel, once each and in order, with what the channel missed read back
/// from the room's stream (`FeedChannels` keeps the channels subscribed).
///
/// A room's feed exists while any local subscriber wants it. After a reconnect or a move of its
/// channel the counters are polled at once, so that whatever was published meanwhile is read from
/// the streams.
///
/// Retractions are numbered per room as well (`RedisScripts.retract`), so one published while a
/// feed's subscription was down is noticed by the same poll and read back from the room's
/// retraction stream: a viewer that stays connected is told of every retraction.
final class RedisFeeds: Sendable {
    /// The feeds, shared with `channels`.
    let table = FeedTable()
    /// Keeps the feeds' channels subscribed.
    let channels: FeedChannels
    private let metrics: BusMetrics

    private let logger: Logger

    init(metrics: BusMetrics, logger: Logger) {
        self.metrics = metrics
        self.logger = logger
        self.channels = FeedChannels(table: table)
    }

    var count: Int { table.state.withLock { $0.feeds.count } }

    /// The rooms with a feed (watched on this node).
    var rooms: [RoomID] { table.state.withLock { Array($0.feeds.keys) } }

    // MARK: Subscribers

    /// Adds `subscriber` to `room`; the future completes once the room's feed is live.
    func add(_ room: RoomID, subscriber: any BusSubscriber, bus: RedisBus) -> EventLoopFuture<Void> {
        let (ready, isNew) = table.state.withLock { state -> (EventLoopFuture<Void>, Bool) in
            if state.feeds[room] != nil {
                state.feeds[room]!.subscribers[ObjectIdentifier(subscriber)] = subscriber
                return (state.feeds[room]!.ready.futureResult, false)
            }
            var feed = FeedTable.Feed(ready: bus.eventLoop.makePromise())
            feed.subscribers[ObjectIdentifier(subscriber)] = subscriber
            state.feeds[room] = feed
            return (feed.ready.futureResult, true)
        }
        if isNew { _ = channels.subscribe(room, on: nil, bus: bus) }
        return ready
    }

    /// Removes `subscriber`; the last one out unsubscribes the channel.
    func remove(_ room: RoomID, subscriber: any BusSubscriber, bus: RedisBus) {
        let emptied = table.state.withLock { state -> FeedTable.Feed? in
            guard var feed = state.feeds[room] else { return nil }
            feed.subscribers[ObjectIdentifier(subscriber)] = nil
            guard feed.subscribers.isEmpty else {
                state.feeds[room] = feed
                return nil
            }
            state.feeds[room] = nil
            return feed
        }
        guard let emptied else { return }
        emptied.ready.fail(RedisError.unavailable("unsubscribed"))
        if let node = emptied.channel.node { channels.unsubscribe(RedisKeys(room).channel, on: node, bus: bus) }
    }


    // MARK: Messages

    /// A message on a room channel: the batch's comments, one JSON per line.
    func receive(channel: ByteBuffer, payload: ByteBuffer) {
        guard let room = RedisKeys.room(ofChannel: String(buffer: channel)) else { return }
        metrics.received.increment()
        var comments: [EncodedComment] = []
        ChannelLine.read(payload, room: room) { line in
            switch line {
            case .comment(let comment):
                comments.append(comment)
            case .retraction(let retraction):
                tell([retraction], room: room)
            case .likes(let likes):
                let subscribers = table.state.withLock { Array(($0.feeds[room]?.subscribers ?? [:]).values) }
                for subscriber in subscribers { subscriber.liked(likes, room: room) }
            }
        }
        deliver(comments, room: room)
    }

    /// Hands comments not delivered before to the room's subscribers, and tells them of those a
    /// failover numbered with a seq already passed (`PassedSeqs`). `fromStream`: read from the
    /// room's stream, so history holds them (else they came by pub/sub).
    private func deliver(_ comments: [EncodedComment], room: RoomID, fromStream: Bool = false, bus: RedisBus? = nil) {
        let now = NIODeadline.now()
        let bus = bus ?? table.owner.withLock { $0 }
        let (fresh, renumbered, lost, unconfirmed, subscribers, epoch) = table.state.withLock {
            state -> ([EncodedComment], [EncodedComment], [(seq: UInt64, id: String)], [(seq: UInt64, key: String)], [any BusSubscriber], Int64) in
            guard var feed = state.feeds[room] else { return ([], [], [], [], [], 0) }
            var fresh: [EncodedComment] = []
            var renumbered: [EncodedComment] = []
            var lost: [(seq: UInt64, id: String)] = []
            var unconfirmed: [(seq: UInt64, key: String)] = []
            for comment in comments {
                // Before the counter is read every comment is passed on (the push loop drops the old).
                if feed.tracker?.see(comment.seq, now: now) ?? true {
                    feed.passed.passed(comment)
                    fresh.append(comment)
                    continue
                }
                switch feed.passed.classify(comment) {
                case .copy: break
                case .anotherComment(let replaced):
                    renumbered.append(comment)
                    // The one passed at the seq is not in history there any more.
                    if !feed.retractions.hasTold(id: replaced) { lost.append((comment.seq, replaced)) }
                case .atSkippedSeq where fromStream:
                    feed.passed.passed(comment)
                    renumbered.append(comment)
                case .atSkippedSeq:
                    let key = "\(comment.seq) \(comment.commentID ?? "")"
                    if bus != nil, feed.confirming.insert(key).inserted { unconfirmed.append((comment.seq, key)) }
                }
            }
            if !fresh.isEmpty { feed.comparison.passedOn(now: now) }
            feed.comparison.name(lost)
            state.feeds[room] = feed
            return (fresh, renumbered, lost, unconfirmed, Array(feed.subscribers.values), feed.epoch)
        }
        tellLost(lost, heldAgain: true, room: room, epoch: epoch, subscribers: subscribers, bus: bus)
        if logger.logLevel <= .debug {
            logger.debug("bus comments", metadata: [
                "room": "\(room)", "source": "\(fromStream ? "stream" : "pubsub")", "seqs": "\(comments.map(\.seq))",
                "fresh": "\(fresh.map(\.seq))", "renumbered": "\(renumbered.map(\.seq))", "unconfirmed": "\(unconfirmed.map(\.seq))",
            ])
        }
        if !fresh.isEmpty {
            for subscriber in subscribers { subscriber.deliver(fresh, room: room) }
        }
        if !renumbered.isEmpty {
            metrics.renumbered.increment(by: renumbered.count)
            for subscriber in subscribers { subscriber.renumbered(renumbered, room: room) }
        }
        // A pub/sub copy at a skipped seq: told only if the stream holds it there.
        if let bus {
            for (seq, key) in unconfirmed {
                bus.roomStreams.comments(room: room, range: seq...seq).whenComplete { [self] result in
                    table.state.withLock { _ = $0.feeds[room]?.confirming.remove(key) }
                    if case .success(let found) = result { deliver(found, room: room, fromStream: true, bus: bus) }
                }
            }
        }
    }

    /// Compares the room's latest stream entries with what was passed on at their seqs: one held
    /// by another comment than the one passed, or at a seq skipped, was numbered again by a
    /// failover, and its publish may never come (its logic node died or was cut off after storing
    /// it). Bounded by `FailoverComparison.verifiedEntries` per room, and run only for rooms active
    /// before the failover (`FailoverComparison.schedule`).
    ///
    /// The comments passed on that the stream no longer holds, and whose retraction this node was
    /// not told, were lost with the failover (stored on the old master only, never answered 201):
    /// they are taken off viewers' screens with a `retract` (reason `lost`).
    private func verifyRecent(_ room: RoomID, bus: RedisBus) {
        // What was passed before the read is sent: only that is judged by it.
        guard let (passed, epoch) = table.state.withLock({ state in state.feeds[room].map { ($0.passed.passedComments(), $0.epoch) } }) else { return }
        bus.roomStreams.latestWithEpoch(room: room, count: FailoverComparison.verifiedEntries).whenComplete { [self] result in
            guard case .success(let latest) = result, latest.epoch == epoch, epoch != 0 else {
                // Unread, or the numbering started over: nothing to compare.
                table.state.withLock { $0.feeds[room]?.comparison.abandon() }
                return
            }
            deliver(latest.comments, room: room, fromStream: true, bus: bus)
            let (lost, subscribers) = table.state.withLock { state -> ([(seq: UInt64, id: String)], [any BusSubscriber]) in
                guard var feed = state.feeds[room] else { return ([], []) }
                let missing = feed.passed.missing(of: passed, comparedWith: latest.comments).filter { !feed.retractions.hasTold(id: $0.id) }
                let lost = feed.comparison.finish(missing: missing)
                feed.passed.forget(lost)
                state.feeds[room] = feed
                return (lost, Array(feed.subscribers.values))
            }
            tellLost(lost, heldAgain: false, room: room, epoch: epoch, subscribers: subscribers, bus: bus)
        }
    }

    /// Takes comments a failover lost off the screens (`retract`, reason `lost`), and records
    /// their retractions in the room's record (`RedisBus.recordLost`): a viewer of another push
    /// node may have been shown one (from history when it joined, or by this node before it
    /// moved), and that node may not have passed it on itself, or may have let the room go and
    /// forgotten it. `heldAgain`: another comment holds each one's seq now.
    private func tellLost(
        _ lost: [(seq: UInt64, id: String)], heldAgain: Bool, room: RoomID, epoch: Int64, subscribers: [any BusSubscriber], bus: RedisBus?
    ) {
        guard !lost.isEmpty else { return }
        metrics.lost.increment(by: lost.count)
        for (seq, id) in lost {
            for subscriber in subscribers {
                subscriber.retract(seq: seq, id: id, room: room, seqReused: heldAgain, reason: .lost)
            }
            bus?.recordLost(room: room, seq: seq, id: id, epoch: epoch)
        }
    }

    /// Tells the room's subscribers of retractions not told before (one numbered `n` is told
    /// once, whether it came by pub/sub or was read back; one without a number always).
    private func tell(_ retractions: [RetractionLine], room: RoomID, readBack: Bool = false) {
        let now = NIODeadline.now()
        let (fresh, subscribers) = table.state.withLock { state -> ([RetractionLine], [any BusSubscriber]) in
            guard var feed = state.feeds[room] else { return ([], []) }
            let fresh = retractions.filter { retraction in
                guard let n = retraction.n, feed.retractions.hasStarted else { return true }
                let new = feed.retractions.admit(n, id: retraction.id, now: now, readBack: readBack)
                // This node named it lost and told its viewers then; this is the record of that.
                return new && !(retraction.reason == .lost && feed.comparison.named(retraction.id))
            }
            state.feeds[room] = feed
            return (fresh, Array(feed.subscribers.values))
        }
        if logger.logLevel <= .debug {
            logger.debug("bus retractions", metadata: [
                "room": "\(room)", "readBack": "\(readBack)", "received": "\(retractions.map { "\($0.n.map(String.init) ?? "-")/\($0.seq)/\($0.id)" })",
                "told": "\(fresh.map(\.seq))", "subscribers": "\(subscribers.count)",
            ])
        }
        for retraction in fresh {
            for subscriber in subscribers {
                subscriber.retract(seq: retraction.seq, id: retraction.id, room: room, seqReused: retraction.reused ?? false, reason: retraction.reason)
            }
        }
    }

    // MARK: Maintenance

    /// Every 100 ms: subscribes rooms that are not, reads gaps from the streams, and (each
    /// second, or right after a reconnect) polls the counters of all rooms.
    func maintain(bus: RedisBus, poll: Bool) {
        let now = NIODeadline.now()
        let topologyVersion = bus.redis.topologyVersion
        let (moved, toSubscribe, toRead, repairs, retractionRepairs, latestReads, verifications, pollRooms) = table.state.withLock { state in
            // Channels whose slot now lives on another master are subscribed there.
            let moved = channels.dropMoved(in: &state, topologyVersion: topologyVersion, bus: bus)
            var toSubscribe: [RoomID] = []
            var toRead: [RoomID] = []
            var repairs: [(RoomID, ClosedRange<UInt64>)] = []
            var retractionRepairs: [(RoomID, ClosedRange<UInt64>)] = []
            var latestReads: [RoomID] = []
            var verifications: [RoomID] = []
            for (room, feed) in state.feeds {
                // After the retractions missed are read back: a comment retracted meanwhile is
                // then known as such, not taken for one the failover lost.
                if feed.channel.subscribed, feed.tracker != nil, feed.epoch != 0, feed.retractions.isCaughtUp(now: now),
                    state.feeds[room]!.comparison.start(now: now)
                {
                    verifications.append(room)
                }
                if !feed.channel.subscribed, !feed.channel.subscribing {
                    toSubscribe.append(room)
                } else if feed.channel.subscribed, feed.tracker == nil, !feed.readingCounter {
                    toRead.append(room)
                } else {
                    if !feed.repairing, let range = feed.tracker?.repairRange(now: now, grace: RedisBus.repairGrace) {
                        state.feeds[room]!.repairing = true
                        repairs.append((room, range))
                    }
                    switch state.feeds[room]!.retractions.nextRead(now: now, grace: RedisBus.repairGrace) {
                    case .latest: latestReads.append(room)
                    case .numbered(let range): retractionRepairs.append((room, range))
                    case nil: break
                    }
                }
            }
            let pollRooms = (poll || state.pollSoon) ? state.feeds.compactMap { $0.value.tracker == nil ? nil : $0.key } : []
            if !pollRooms.isEmpty { state.pollSoon = false }
            return (moved, toSubscribe, toRead, repairs, retractionRepairs, latestReads, verifications, pollRooms)
        }
        for (channel, node) in moved { channels.unsubscribe(channel, on: node, bus: bus) }
        for room in toSubscribe { _ = channels.subscribe(room, on: nil, bus: bus) }
        for room in toRead { channels.readCounter(room, bus: bus) }
        for (room, range) in repairs { repair(room, range: range, bus: bus) }
        for (room, range) in retractionRepairs { repairRetractions(room, range: range, bus: bus) }
        for room in latestReads { readBackLatestRetractions(room, bus: bus) }
        for room in verifications { verifyRecent(room, bus: bus) }
        if !pollRooms.isEmpty { pollCounters(pollRooms, bus: bus) }
    }

    private func repair(_ room: RoomID, range: ClosedRange<UInt64>, bus: RedisBus) {
        bus.roomStreams.comments(room: room, range: range).whenComplete { [self] result in
            if case .success(let comments) = result {
                metrics.repaired.increment(by: comments.count)
                deliver(comments, room: room, fromStream: true, bus: bus)
            }
            table.state.withLock { state in
                guard state.feeds[room] != nil else { return }
                state.feeds[room]!.repairing = false
                guard case .success = result else { return }
                state.feeds[room]!.tracker?.repaired(range, now: .now())
                // What the read did not find was withdrawn or retracted: a comment that comes for
                // one of those seqs later was numbered again by a failover.
                state.feeds[room]!.passed.skipped(range)
            }
        }
    }

    /// Reads back retractions the room's subscription missed.
    private func repairRetractions(_ room: RoomID, range: ClosedRange<UInt64>, bus: RedisBus) {
        bus.roomStreams.retractions(room: room, range: range).whenComplete { [self] result in
            if case .success(let retractions) = result {
                metrics.retractionsRepaired.increment(by: retractions.count)
                tell(retractions, room: room)
            }
            let succeeded = if case .success = result { true } else { false }
            table.state.withLock { state in
                guard state.feeds[room] != nil else { return }
                state.feeds[room]!.retractions.finished(.numbered(range), succeeded: succeeded, now: .now())
            }
        }
    }

    /// Reads back the room's latest retractions after a resubscription (told unless told before).
    private func readBackLatestRetractions(_ room: RoomID, bus: RedisBus) {
        bus.roomStreams.latestRetractions(room: room, count: RetractionReadBack.latestCount).whenComplete { [self] result in
            if case .success(let retractions) = result { tell(retractions, room: room, readBack: true) }
            let succeeded = if case .success = result { true } else { false }
            table.state.withLock { state in
                guard state.feeds[room] != nil else { return }
                state.feeds[room]!.retractions.finished(.latest, succeeded: succeeded, now: .now())
            }
        }
    }

    private func pollCounters(_ rooms: [RoomID], bus: RedisBus) {
        // In chunks, so one answer stays small however many rooms a node has.
        for start in stride(from: 0, to: rooms.count, by: 1000) {
            let chunk = Array(rooms[start..<min(start + 1000, rooms.count)])
            // The seqs known when the poll is sent: one published while it is on its way is not
            // taken for a counter behind it.
            let knownAtPoll = table.state.withLock { state in chunk.map { state.feeds[$0].flatMap { feed in feed.tracker.map { ($0.known, feed.epoch) } } } }
            bus.roomCounters.read(chunk).whenSuccess { [self] counters in
                let now = NIODeadline.now()
                let behind = table.state.withLock { state -> [(RoomID, UInt64, Int64)] in
                    var behind: [(RoomID, UInt64, Int64)] = []
                    for (index, (room, counter)) in zip(chunk, counters).enumerated() {
                        guard state.feeds[room]?.tracker != nil else { continue }
                        let epoch = state.feeds[room]!.epoch
                        if counter.epoch != 0, counter.epoch != epoch {
                            // The room's first comment gave it a numbering; or the numbering started
                            // over, and the seqs passed belong to the old one.
                            if epoch != 0 {
                                state.feeds[room]!.passed = PassedSeqs()
                                state.feeds[room]!.numberingStartedOver = true
                            }
                            state.feeds[room]!.epoch = counter.epoch
                        } else if let (known, knownEpoch) = knownAtPoll[index], !state.feeds[room]!.numberingStartedOver,
                            epoch != 0, knownEpoch == epoch, counter.lastSeq > 0, counter.lastSeq < known
                        {
                            // A counter below a seq this node was given: a failover promoted a
                            // master that lacks the last comments (0: the room's keys are gone
                            // altogether, and its next comment starts a new epoch).
                            behind.append((room, known, counter.epoch))
                            state.feeds[room]!.comparison.schedule(now: now)
                        }
                        state.feeds[room]!.tracker!.learn(lastSeq: counter.lastSeq, now: now)
                        state.feeds[room]!.retractions.learn(count: counter.retractions, now: now)
                    }
                    return behind
                }
                for (room, known, epoch) in behind { bus.roomCounters.raise(room, to: known, epoch: epoch) }
            }
        }
    }
}
