// Danmaku — a live-stream bullet-comment service.

import NIOCore
import Synchronization

/// Remembers (user, normalized text) pairs for a short window to refuse copy-paste floods.
///
/// Entries expire in arrival order, so a ring of them is enough; the ring is capped, and when
/// it is full the oldest entry is forgotten early (memory stays bounded under a flood).
public final class DuplicateSuppressor: Sendable {
    /// How long a text is remembered, in seconds.
    public let window: Double
    /// Most entries remembered at once.
    public let capacity: Int

    private struct State {
        var expiries: [String: Double] = [:]
        var order = CircularBuffer<(key: String, expiry: Double)>()
    }

    private let state = Mutex(State())

    public init(window: Double, capacity: Int = 100_000) {
        self.window = window
        self.capacity = capacity
    }

    /// Records the pair and answers whether it was already seen within the window.
    public func isDuplicate(user: String, normalizedText: String, now: Double) -> Bool {
        guard window > 0 else { return false }
        let key = user + "\u{0}" + normalizedText
        return state.withLock { state in
            while let oldest = state.order.first, oldest.expiry <= now || state.order.count >= capacity {
                state.order.removeFirst()
                if state.expiries[oldest.key] == oldest.expiry { state.expiries[oldest.key] = nil }
            }
            if let expiry = state.expiries[key], expiry > now { return true }
            state.expiries[key] = now + window
            state.order.append((key, now + window))
            return false
        }
    }

    /// Forgets the pair `isDuplicate` just recorded: the post was not accepted after all, and its
    /// retry is not a duplicate. (Its ring entry expires on its own and matches nothing then.)
    public func forget(user: String, normalizedText: String) {
        guard window > 0 else { return }
        let key = user + "\u{0}" + normalizedText
        state.withLock { _ = $0.expiries.removeValue(forKey: key) }
    }
}
