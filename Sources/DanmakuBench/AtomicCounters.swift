// Danmaku — a live-stream bullet-comment service.

import Synchronization

/// A counter many loops bump; read for progress lines.
final class Counter: Sendable {
    private let value = Atomic<Int>(0)
    func add(_ amount: Int = 1) { value.add(amount, ordering: .relaxed) }
    func load() -> Int { value.load(ordering: .relaxed) }
}

final class AtomicCounters: Sendable {
    let joined = Counter()
    let failed = Counter()
    let closedEarly = Counter()
    let left = Counter()
}
