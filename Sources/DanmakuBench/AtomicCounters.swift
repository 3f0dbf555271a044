// Danmaku — a live-stream bullet-comment service.

import Synchronization

/// A counter many loops bump; read for progress lines.
final class Counter: Sendable {
    private let value = Atomic<Int>(0)
    func add(_ amount: Int = 1) { value.add(amount, ordering: .relaxed) }
    func load() -> Int { value.load(ordering: .relaxed) }

    /// Raises the value to `candidate` if it is higher (a latest time).
    func raise(to candidate: Int) {
        var current = value.load(ordering: .relaxed)
        while candidate > current {
            let (exchanged, original) = value.compareExchange(expected: current, desired: candidate, ordering: .relaxed)
            if exchanged { return }
            current = original
        }
    }
}

final class AtomicCounters: Sendable {
    let joined = Counter()
    let failed = Counter()
    let closedEarly = Counter()
    let left = Counter()
    let dropped = Counter()
    let rejoined = Counter()
    let attemptsFailed = Counter()
    let restarted = Counter()
    let lastRejoinMicroseconds = Counter()
}
