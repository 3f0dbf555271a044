// Danmaku — a live-stream bullet-comment service.

import DanmakuCore
import Synchronization

/// One `Idempotency-Key` of one principal, in the place its post goes.
public struct IdempotencySlot: Hashable, Sendable {
    /// Where the post goes: a room id, or `video:ID`. In Redis it is the key's hash tag, so the
    /// record lives in the slot of the room's (or the video's) other keys.
    public var scope: String
    /// Who posts: the token's user id, or the anonymous identity an open-mode post is charged to.
    public var principal: String
    /// The key as the client sent it.
    public var key: String

    public init(scope: String, principal: String, key: String) {
        self.scope = scope
        self.principal = principal
        self.key = key
    }
}

/// What a reserved key stands for.
public enum IdempotencyRecord: Sendable, Equatable {
    /// The first post with the key has no answer yet.
    case inFlight
    /// The first post's store did not confirm: it may be stored, so the key stays taken.
    case outcomeUnknown
    /// The first post was stored; its answer (the JSON body of its 201).
    case answered([UInt8])
}

/// Remembers, for a while, which idempotency keys were used and what their first post answered,
/// so that a retry gets that answer instead of storing a second copy.
public protocol IdempotencyStore: Sendable {
    /// Takes `slot` (as `inFlight`, for `window`) when nobody holds it and returns nil; otherwise
    /// returns what it holds and changes nothing. Atomic: of two callers, one gets nil.
    func reserve(_ slot: IdempotencySlot, window: Duration) async throws -> IdempotencyRecord?

    /// Replaces what a slot this caller reserved holds, kept for `window` from now.
    func settle(_ slot: IdempotencySlot, as record: IdempotencyRecord, window: Duration) async throws

    /// Frees a slot this caller reserved, because its post was not stored: a retry is tried again.
    func release(_ slot: IdempotencySlot) async throws
}

/// Idempotency keys kept in this process (the in-memory bus's companion, like `MemoryLikes`).
///
/// Bounded: at most `capacity` keys, the oldest reserved forgotten first (a forgotten key's retry
/// is posted again); a key is forgotten when its window has passed.
public final class MemoryIdempotency: IdempotencyStore {
    private struct Entry {
        var record: IdempotencyRecord
        var expires: ContinuousClock.Instant
        /// Which reservation of the slot this is, so that an old place in `order` is skipped.
        var generation: UInt64
    }

    private struct State {
        var entries: [IdempotencySlot: Entry] = [:]
        /// Slots in the order they were reserved, for forgetting the oldest.
        var order: [(slot: IdempotencySlot, generation: UInt64)] = []
        var orderStart = 0
        var nextGeneration: UInt64 = 0
    }

    private let state = Mutex(State())
    /// The most keys remembered at once.
    public let capacity: Int
    private let now: @Sendable () -> ContinuousClock.Instant

    /// - Parameter now: the clock windows are measured on (tests move it by hand).
    public init(capacity: Int = 100_000, now: @escaping @Sendable () -> ContinuousClock.Instant = { .now }) {
        self.capacity = max(1, capacity)
        self.now = now
    }

    /// How many keys are remembered now.
    public var count: Int { state.withLock { $0.entries.count } }

    public func reserve(_ slot: IdempotencySlot, window: Duration) async throws -> IdempotencyRecord? {
        let now = now()
        return state.withLock { state in
            if let held = state.entries[slot], held.expires > now { return held.record }
            Self.makeRoom(&state, capacity: capacity, now: now)
            let generation = state.nextGeneration
            state.nextGeneration &+= 1
            state.entries[slot] = Entry(record: .inFlight, expires: now + window, generation: generation)
            state.order.append((slot, generation))
            return nil
        }
    }

    public func settle(_ slot: IdempotencySlot, as record: IdempotencyRecord, window: Duration) async throws {
        let now = now()
        state.withLock { state in
            // Evicted meanwhile: the slot is not taken again, as a reservation would be.
            guard var entry = state.entries[slot] else { return }
            entry.record = record
            entry.expires = now + window
            state.entries[slot] = entry
        }
    }

    public func release(_ slot: IdempotencySlot) async throws {
        _ = state.withLock { $0.entries.removeValue(forKey: slot) }
    }

    /// Forgets the oldest reservations until there is room for one more (and any expired one met
    /// on the way).
    private static func makeRoom(_ state: inout State, capacity: Int, now: ContinuousClock.Instant) {
        while state.orderStart < state.order.count {
            let (slot, generation) = state.order[state.orderStart]
            if let entry = state.entries[slot], entry.generation == generation {
                guard state.entries.count >= capacity || entry.expires <= now else { break }
                state.entries[slot] = nil
            }
            state.orderStart += 1
        }
        // Compact the order list once its forgotten head is as long as what is left.
        if state.orderStart > 0, state.orderStart * 2 >= state.order.count {
            state.order.removeFirst(state.orderStart)
            state.orderStart = 0
        }
        // Released keys leave stale places behind a live oldest one: drop them before the list
        // outgrows the keys it orders.
        if state.order.count / 2 > capacity {
            state.order.removeAll { place in state.entries[place.slot]?.generation != place.generation }
            state.orderStart = 0
        }
    }
}
