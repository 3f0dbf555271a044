// Danmaku — a live-stream bullet-comment service.

import Synchronization

/// Runs async work one piece at a time, in the order asked: a transaction's statements on one
/// SQLite connection must not interleave with another's.
final class SerialWork: Sendable {
    private let last = Mutex<Task<Void, Never>?>(nil)

    func run<T: Sendable>(_ work: @escaping @Sendable () async throws -> T) async throws -> T {
        let task = last.withLock { last -> Task<Result<T, any Error>, Never> in
            let previous = last
            let task = Task { () -> Result<T, any Error> in
                await previous?.value
                do { return .success(try await work()) } catch { return .failure(error) }
            }
            last = Task { _ = await task.value }
            return task
        }
        return try await task.value.get()
    }
}
