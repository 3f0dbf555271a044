// Danmaku — a live-stream bullet-comment service.

import DanmakuBus
import DanmakuCore
import Synchronization

/// What an author did lately in a room that lowers the weight their next comments there are
/// accepted with (`CommentWeight`): each comment of theirs staff took out acting on reports
/// (remove or ban from the queue; viewers' reports alone, which anyone's accounts can file, do
/// not count) takes 1 off, up to `maxRemovals`,
/// for `window` seconds; a ban from the room takes `banPenalty` off until `window` seconds after
/// it ends (lifting it early forgives it).
///
/// Kept in memory on each logic node, like the per-user rates, so the post path pays one lookup
/// and no store round trip: a node knows what was done through it (in a cluster, a report acted
/// on at one node does not lower posts taken by another), and a restart forgets. Bounded: at
/// most `capacity` author-and-room records; past that the one marked least recently is forgotten.
public final class AuthorRecords: Sendable {
    /// How long a removal counts, and a ban after it ends, in seconds.
    public static let window = 86_400.0
    /// The most removals that count (each takes 1 off).
    public static let maxRemovals = 3
    /// What a ban takes off.
    public static let banPenalty = 2
    /// The most author-and-room records held.
    public let capacity: Int

    private struct Key: Hashable, Sendable {
        var room: String
        var user: String
    }

    private struct Record {
        /// When comments were taken out, newest last; at most `maxRemovals`.
        var removals: [Double] = []
        /// When the latest ban ends (or ended), seconds since the Unix epoch.
        var banEnds: Double?
    }

    private struct State {
        var records: [Key: Record] = [:]
        var order = RecencyList<Key>()
    }

    private let state = Mutex(State())

    public init(capacity: Int = 100_000) {
        precondition(capacity > 0, "hold at least one record")
        self.capacity = capacity
    }

    /// Staff took a reported comment of `user` in `room` out at `now`.
    public func noteRemoval(of user: String, room: RoomID, now: Double) {
        update(Key(room: room.value, user: user)) { record in
            record.removals.append(now)
            if record.removals.count > Self.maxRemovals { record.removals.removeFirst(record.removals.count - Self.maxRemovals) }
        }
    }

    /// `user` is banned from `room` until `until` (seconds since the Unix epoch).
    public func noteBan(of user: String, room: RoomID, until: Double) {
        update(Key(room: room.value, user: user)) { $0.banEnds = until }
    }

    /// `user`'s ban from `room` was lifted: it no longer counts.
    public func noteUnban(of user: String, room: RoomID) {
        state.withLock { state in state.records[Key(room: room.value, user: user)]?.banEnds = nil }
    }

    /// What `user`'s record in `room` takes off their standing at `now`: 0 to
    /// `maxRemovals + banPenalty`.
    public func penalty(of user: String, room: RoomID, now: Double) -> Int {
        state.withLock { state in
            guard let record = state.records[Key(room: room.value, user: user)] else { return 0 }
            let removals = record.removals.count(where: { now - $0 < Self.window })
            let banned = record.banEnds.map { now - $0 < Self.window } ?? false
            return removals + (banned ? Self.banPenalty : 0)
        }
    }

    /// Records held now (for tests).
    public var count: Int { state.withLock { $0.records.count } }

    private func update(_ key: Key, _ change: (inout Record) -> Void) {
        state.withLock { state in
            if state.records[key] == nil, state.records.count >= capacity, let oldest = state.order.oldest {
                state.order.remove(oldest)
                state.records[oldest] = nil
            }
            change(&state.records[key, default: Record()])
            state.order.touch(key)
        }
    }
}
