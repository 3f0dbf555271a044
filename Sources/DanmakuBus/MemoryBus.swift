// Danmaku — a live-stream bullet-comment service.

import DanmakuCore
import NIOCore
import Synchronization

/// The embedded bus: sequencing, history and pub/sub inside one process.
///
/// Delivery is a direct call to each subscriber, so a comment reaches push loops as soon as it
/// is published, and nothing is lost while the process lives.
///
/// Rooms are bounded (`RoomRetention`): a room without posts for the idle time and without
/// subscribers is forgotten, and past the most rooms the least recently posted-to unwatched ones
/// go first. A forgotten room that comes back starts a new `epoch` with seq 1.
public final class MemoryBus: CommentBus, CommentLog, ImmediateCommentLog, ImmediateCommentBus {
    /// Comments kept per room.
    public let historyCapacity: Int
    /// How long rooms are kept, and how many.
    public let retention: RoomRetention
    private let clock: @Sendable () -> Int64

    private struct Room {
        /// When this numbering started (ms since the Unix epoch): tells a returning client whether
        /// the seqs it holds are this room's.
        var epoch: Int64
        /// The last post, ms.
        var lastActivity: Int64
        /// The last seq handed out (by `number`).
        var numbered: UInt64 = 0
        /// The last seq stored: what history and `lastSeq` answer with. Behind `numbered` only
        /// while a durable store is writing (`ArchivedLog`).
        var lastSeq: UInt64 = 0
        var history = CircularBuffer<EncodedComment>()
        /// The latest retractions, oldest first (at most `RetractedComment.remembered`).
        var retracted = CircularBuffer<RetractedComment>()
    }

    private struct State {
        var rooms: [RoomID: Room] = [:]
        /// When idle rooms were last swept, ms.
        var lastSweep: Int64 = 0
    }

    private let state = Mutex(State())
    private let subscribers = Mutex<[RoomID: [ObjectIdentifier: any BusSubscriber]]>([:])

    /// - Parameter clock: ms since the Unix epoch (tests pass their own).
    public init(historyCapacity: Int, retention: RoomRetention = .forever, clock: @escaping @Sendable () -> Int64 = currentTimeMillis) {
        precondition(historyCapacity > 0, "history must hold at least one comment")
        self.historyCapacity = historyCapacity
        self.retention = retention
        self.clock = clock
    }

    /// Rooms held now (for tests and metrics).
    public var roomCount: Int { state.withLock { $0.rooms.count } }

    /// The room `id` for a post at `now`: the one held, or a new one (a new epoch) when there is
    /// none or the one held has been idle past the retention and nobody watches it.
    private func roomForPost(_ id: RoomID, in state: inout State, now: Int64) -> Room {
        if let room = state.rooms[id], !(retention.startsOverWhenIdle && retention.isIdle(room.lastActivity, now: now) && !isWatched(id)) {
            return room
        }
        sweepIfDue(&state, now: now)
        // Never the previous epoch again, even within one millisecond.
        return Room(epoch: max(now, (state.rooms[id]?.epoch ?? 0) + 1), lastActivity: now)
    }

    private func isWatched(_ id: RoomID) -> Bool {
        subscribers.withLock { $0[id] != nil }
    }

    /// Forgets idle unwatched rooms (at most once a minute), and the least recently posted-to
    /// unwatched rooms while over the most rooms (down to nine tenths of it).
    private func sweepIfDue(_ state: inout State, now: Int64) {
        let overCap = retention.maxRooms.map { state.rooms.count >= $0 } ?? false
        guard overCap || (retention.idleMilliseconds != nil && now - state.lastSweep >= 60_000) else { return }
        state.lastSweep = now
        let watched = subscribers.withLock { Set($0.keys) }
        state.rooms = state.rooms.filter { watched.contains($0.key) || !retention.isIdle($0.value.lastActivity, now: now) }
        if let maxRooms = retention.maxRooms, state.rooms.count >= maxRooms {
            let evictable = state.rooms.filter { !watched.contains($0.key) }.sorted { $0.value.lastActivity < $1.value.lastActivity }
            for (id, _) in evictable.prefix(state.rooms.count - maxRooms * 9 / 10) { state.rooms[id] = nil }
        }
    }

    /// Puts back a room's state from a durable store, unless the room is held already: its
    /// epoch, its last seq (numbering continues after it) and its most recent comments (at most
    /// the history capacity are kept).
    public func restore(room: RoomID, epoch: Int64, lastSeq: UInt64, history: [EncodedComment]) {
        let now = clock()
        state.withLock { state in
            guard state.rooms[room] == nil else { return }
            // Reads bring rooms back too: the most rooms holds for them as it does for posts.
            sweepIfDue(&state, now: now)
            var restored = Room(epoch: epoch, lastActivity: now)
            restored.lastSeq = lastSeq
            restored.numbered = lastSeq
            for comment in history.suffix(historyCapacity) { restored.history.append(comment) }
            state.rooms[room] = restored
        }
    }

    /// Makes `state.rooms[id]` the room a post at `now` goes to (`roomForPost`). Callers then
    /// change it in place, through the dictionary: a copy taken out and put back would share its
    /// history buffer while changed, and so copy the whole history on every comment.
    private func holdRoomForPost(_ id: RoomID, in state: inout State, now: Int64) {
        let epoch = roomForPost(id, in: &state, now: now).epoch
        if state.rooms[id]?.epoch != epoch { state.rooms[id] = Room(epoch: epoch, lastActivity: now) }
    }

    /// Gives a comment the room's next seq without storing it: history and `lastSeq` do not
    /// show it until `store`, so nobody sees a seq that a crash before it is durable could reuse.
    public func number(room: RoomID, unnumbered: ByteBuffer) -> EncodedComment {
        let now = clock()
        return state.withLock { state in
            holdRoomForPost(room, in: &state, now: now)
            state.rooms[room]!.numbered += 1
            state.rooms[room]!.lastActivity = now
            return EncodedComment(numbering: unnumbered, seq: state.rooms[room]!.numbered, room: room)
        }
    }

    /// Puts a comment numbered by `number` into history (in seq order) once it is durable.
    public func store(_ comment: EncodedComment) {
        let now = clock()
        state.withLock { state in
            if state.rooms[comment.room] == nil { state.rooms[comment.room] = Room(epoch: now, lastActivity: now) }
            Self.insert(comment, into: &state.rooms[comment.room]!, capacity: historyCapacity)
        }
    }

    private static func insert(_ comment: EncodedComment, into room: inout Room, capacity: Int) {
        room.numbered = max(room.numbered, comment.seq)
        room.lastSeq = max(room.lastSeq, comment.seq)
        if room.history.count == capacity {
            guard let oldest = room.history.first, oldest.seq < comment.seq else { return }
            room.history.removeFirst()
        }
        // Nearly always at the end; a store of an earlier seq (another writer's) goes before it.
        var index = room.history.endIndex
        while index > room.history.startIndex, room.history[room.history.index(before: index)].seq > comment.seq {
            index = room.history.index(before: index)
        }
        // `CircularBuffer.insert` rebuilds the buffer (O(history)) even at the end: append when it can.
        if index == room.history.endIndex {
            room.history.append(comment)
        } else {
            room.history.insert(comment, at: index)
        }
    }

    public func append(room: RoomID, unnumbered: ByteBuffer) async throws -> EncodedComment {
        appendNow(room: room, unnumbered: unnumbered)
    }

    public func appendNow(room: RoomID, unnumbered: ByteBuffer) -> EncodedComment {
        let now = clock()
        return state.withLock { state in
            holdRoomForPost(room, in: &state, now: now)
            state.rooms[room]!.lastActivity = now
            let comment = EncodedComment(numbering: unnumbered, seq: state.rooms[room]!.numbered + 1, room: room)
            Self.insert(comment, into: &state.rooms[room]!, capacity: historyCapacity)
            return comment
        }
    }

    /// The seq of comment `id` if history holds it (a durable store removes it from disk first).
    public func storedSeq(room: RoomID, id: String) -> UInt64? {
        state.withLock { $0.rooms[room]?.history.first(where: { $0.hasID(id) })?.seq }
    }

    /// The room's epoch, when it is held (for a durable store to keep).
    public func epoch(of room: RoomID) -> Int64? {
        state.withLock { $0.rooms[room]?.epoch }
    }

    public func snapshot(room: RoomID, since: UInt64?, limit: Int, retracted: Bool, on eventLoop: any EventLoop) -> EventLoopFuture<HistorySnapshot> {
        eventLoop.makeSucceededFuture(snapshot(room: room, since: since, limit: limit, retracted: retracted))
    }

    private func snapshot(room: RoomID, since: UInt64?, limit: Int, retracted wanted: Bool) -> HistorySnapshot {
        state.withLock { state in
            // A room never posted to (or forgotten) is epoch 0: its first post starts a new one.
            guard let current = state.rooms[room] else {
                return HistorySnapshot(lastSeq: 0, firstAvailableSeq: 1, comments: [])
            }
            let first = current.history.first?.seq ?? current.lastSeq + 1
            let selected: [EncodedComment]
            if let since {
                // Seqs ascend, with holes where comments were retracted.
                let start = current.history.firstIndex { $0.seq > since } ?? current.history.endIndex
                selected = Array(current.history[start...].prefix(limit))
            } else {
                selected = Array(current.history.suffix(limit))
            }
            var retracted: [RetractedComment] = []
            if wanted, let since {
                retracted = current.retracted.filter { $0.isBefore(since, within: historyCapacity) }.sorted { $0.seq > $1.seq }
                retracted = Array(retracted.prefix(RetractedComment.replayed))
            }
            return HistorySnapshot(
                lastSeq: current.lastSeq, firstAvailableSeq: first, comments: selected, epoch: current.epoch, retracted: retracted)
        }
    }

    public func comment(room: RoomID, id: String) async throws -> EncodedComment? {
        let marker = Array(EncodedComment.idMarker(id).utf8)
        return state.withLock { state in
            state.rooms[room]?.history.last { $0.json.readableBytesView.firstRange(ofBytes: marker) != nil }
        }
    }

    public func retract(room: RoomID, id: String, reason: RetractReason?) async throws -> UInt64? {
        state.withLock { state in
            guard var current = state.rooms[room], let index = current.history.firstIndex(where: { $0.hasID(id) }) else { return nil }
            let seq = current.history[index].seq
            current.history = CircularBuffer(current.history.filter { $0.seq != seq })
            if current.retracted.count >= RetractedComment.remembered { current.retracted.removeFirst() }
            current.retracted.append(RetractedComment(seq: seq, id: id, reason: reason))
            state.rooms[room] = current
            return seq
        }
    }

    public func publishRetraction(seq: UInt64, id: String, room: RoomID, reason: RetractReason?) async throws {
        let targets = subscribers.withLock { Array(($0[room] ?? [:]).values) }
        for subscriber in targets { subscriber.retract(seq: seq, id: id, room: room, seqReused: false, reason: reason) }
    }

    public func publishLikes(_ likes: [LikeCount], room: RoomID) async throws {
        let targets = subscribers.withLock { Array(($0[room] ?? [:]).values) }
        for subscriber in targets { subscriber.liked(likes, room: room) }
    }

    public func publish(_ comments: [EncodedComment], room: RoomID) async throws {
        publishNow(comments, room: room)
    }

    public func publishNow(_ comments: [EncodedComment], room: RoomID) {
        let targets = subscribers.withLock { Array(($0[room] ?? [:]).values) }
        for subscriber in targets { subscriber.deliver(comments, room: room) }
    }

    public func subscribe(_ room: RoomID, subscriber: any BusSubscriber, on eventLoop: any EventLoop) -> EventLoopFuture<Void> {
        subscribers.withLock { $0[room, default: [:]][ObjectIdentifier(subscriber)] = subscriber }
        return eventLoop.makeSucceededVoidFuture()
    }

    public func unsubscribe(_ room: RoomID, subscriber: any BusSubscriber) {
        subscribers.withLock { subscribers in
            subscribers[room]?[ObjectIdentifier(subscriber)] = nil
            if subscribers[room]?.isEmpty == true { subscribers[room] = nil }
        }
    }

    /// Rooms with at least one subscriber (for tests and metrics).
    public var subscribedRooms: Int { subscribers.withLock { $0.count } }
}

/// How long rooms are kept in memory, and how many at most (per process).
public struct RoomRetention: Sendable {
    /// A room with no post for this long (and nobody watching) is forgotten; nil: never.
    public var idleMilliseconds: Int64?
    /// The most rooms held; past it the least recently posted-to unwatched rooms are forgotten.
    public var maxRooms: Int?

    /// Whether an idle room still held starts a new numbering on its next post (memory), or
    /// continues it (a durable store's memory, which only ever forgets what it can load again).
    public var startsOverWhenIdle: Bool

    public init(idleMilliseconds: Int64?, maxRooms: Int?, startsOverWhenIdle: Bool = true) {
        self.idleMilliseconds = idleMilliseconds
        self.maxRooms = maxRooms
        self.startsOverWhenIdle = startsOverWhenIdle
    }

    /// Keep every room (a durable store's memory, whose numbering must continue).
    public static let forever = RoomRetention(idleMilliseconds: nil, maxRooms: nil)

    func isIdle(_ lastActivity: Int64, now: Int64) -> Bool {
        idleMilliseconds.map { now - lastActivity >= $0 } ?? false
    }
}
