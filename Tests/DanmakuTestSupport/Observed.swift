import NIOConcurrencyHelpers

/// A value updated from NIO threads that tests can wait on, with a deadline instead of sleeps.
public final class Observed<State: Sendable>: Sendable {
    private struct Waiter {
        var id: Int
        var isSatisfied: @Sendable (State) -> Bool
        var continuation: CheckedContinuation<Void, any Error>
    }

    private struct Box {
        var state: State
        var waiters: [Waiter] = []
        var nextID = 0
    }

    private let box: NIOLockedValueBox<Box>

    public init(_ state: State) {
        box = NIOLockedValueBox(Box(state: state))
    }

    /// The current value.
    public var value: State { box.withLockedValue { $0.state } }

    /// Changes the value and wakes the waiters it now satisfies.
    public func update(_ change: (inout State) -> Void) {
        let ready: [Waiter] = box.withLockedValue { box in
            change(&box.state)
            let state = box.state
            let ready = box.waiters.filter { $0.isSatisfied(state) }
            box.waiters.removeAll { waiter in ready.contains { $0.id == waiter.id } }
            return ready
        }
        for waiter in ready { waiter.continuation.resume() }
    }

    /// Returns once `condition` holds; throws `TimedOut` after `timeout`.
    public func wait(
        for description: String = "condition", timeout: Duration = .seconds(20),
        until condition: @escaping @Sendable (State) -> Bool
    ) async throws {
        let id = box.withLockedValue { box -> Int in
            box.nextID += 1
            return box.nextID
        }
        let timer = Task { [box] in
            try await Task.sleep(for: timeout)
            let expired = box.withLockedValue { box -> Waiter? in
                guard let index = box.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                return box.waiters.remove(at: index)
            }
            expired?.continuation.resume(throwing: TimedOut(description: description))
        }
        defer { timer.cancel() }
        try await withCheckedThrowingContinuation { continuation in
            let satisfiedNow = box.withLockedValue { box -> Bool in
                if condition(box.state) { return true }
                box.waiters.append(Waiter(id: id, isSatisfied: condition, continuation: continuation))
                return false
            }
            if satisfiedNow { continuation.resume() }
        }
    }
}

/// A wait that did not see its condition in time.
public struct TimedOut: Error, CustomStringConvertible {
    public var description: String

    public init(description: String) {
        self.description = description
    }
}

/// Polls `condition` every 50 ms until it holds or `timeout` passes.
public func eventually(_ what: String, timeout: Duration = .seconds(20), _ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while try await !condition() {
        guard ContinuousClock.now < deadline else { throw TimedOut(description: what) }
        try await Task.sleep(for: .milliseconds(50))
    }
}

extension Sequence {
    /// `map` with an async transform, one element after the other.
    public func asyncMap<T>(_ transform: (Element) async throws -> T) async throws -> [T] {
        var results: [T] = []
        for element in self { results.append(try await transform(element)) }
        return results
    }
}

/// Runs `post(0..<count)` with up to `inFlight` at once; returns their results in completion order.
public func postConcurrently<T: Sendable>(_ count: Int, inFlight: Int = 32, _ post: @escaping @Sendable (Int) async throws -> T) async throws -> [T] {
    try await withThrowingTaskGroup(of: T.self) { group in
        var results: [T] = []
        for index in 0..<count {
            if index >= inFlight, let result = try await group.next() { results.append(result) }
            group.addTask { try await post(index) }
        }
        for try await result in group { results.append(result) }
        return results
    }
}
