// Danmaku — a live-stream bullet-comment service.

import NIOCore
import Synchronization

/// How long each EventLoop has slept waiting for work: what it could still spare.
///
/// Filled by the server from NIO's tick reports (`NIOEventLoopMetricsDelegate`) and read by each
/// push shard when it tunes its windows: a loop busy with posts leaves its fan-out less time.
public final class LoopSleepMeter: Sendable {
    private let slept = Mutex<[ObjectIdentifier: Int64]>([:])

    public init() {}

    /// Adds `nanoseconds` of sleep to the loop identified by `loop` (NIO's `eventLoopID`).
    public func add(loop: ObjectIdentifier, nanoseconds: Int64) {
        slept.withLock { $0[loop, default: 0] += nanoseconds }
    }

    /// The sleep `loop` has reported so far, or nil when it never reported (not measured).
    public func total(of loop: any EventLoop) -> Int64? {
        let key = ObjectIdentifier(loop)
        return slept.withLock { $0[key] }
    }
}
