// Danmaku — a live-stream bullet-comment service.

import DanmakuBench
import Foundation
import NIOCore
import NIOPosix

/// What a load run's viewers received: kept per client loop (each loop's viewers update its own
/// `LoopStats`, without locks), and added up when the run asks.
struct ViewerStats: Sendable {
    /// The client loops, in the group's order.
    let loops: [any EventLoop]
    private let table: [ObjectIdentifier: NIOLoopBound<LoopStats>]

    /// One `LoopStats` for each loop of `group`, made on that loop.
    init(group: MultiThreadedEventLoopGroup) async throws {
        let loops = Array(group.makeIterator())
        var table: [ObjectIdentifier: NIOLoopBound<LoopStats>] = [:]
        for loop in loops {
            table[ObjectIdentifier(loop)] = try await loop.submit { NIOLoopBound(LoopStats(), eventLoop: loop) }.get()
        }
        self.loops = loops
        self.table = table
    }

    /// The stats of a loop's viewers, as `BenchViewer` asks for them (on that loop).
    var forLoop: @Sendable (any EventLoop) -> LoopStats {
        let table = table
        return { table[ObjectIdentifier($0)]!.value }
    }

    /// Sleeps `seconds`, printing a progress line each second.
    func tick(
        seconds total: Double, label: String, counters: ConnectionCounters, until done: (@Sendable () -> Bool)? = nil,
        everySecond: () async throws -> Void = {}
    ) async throws {
        var previous = try await collect(reset: false).deliveries
        var remaining = total
        while remaining > 0, !(done?() ?? false) {
            var step = 0.0
            // A signal ends the wait within 50 ms: processes that measure together end together.
            while step < min(1, remaining), !(done?() ?? false) {
                let slice = min(0.05, min(1, remaining) - step)
                try await Task.sleep(for: .seconds(slice))
                step += slice
            }
            guard step > 0 else { break }
            remaining -= step
            try await everySecond()
            let now = try await collect(reset: false)
            let p99 = now.latency.totalCount > 0 ? String(format: "%.1f ms", Double(now.latency.valueAtPercentile(99)) / 1000) : "-"
            let back = counters.dropped > 0 ? ", back \(counters.rejoined)/\(counters.dropped) dropped" : ""
            progress("\(label): \(counters.connected) viewers, \(format(Double(now.deliveries &- previous) / step)) deliveries/s, p99 \(p99), missing \(now.missing), dup \(now.duplicated)\(back)")
            previous = now.deliveries
        }
    }

    /// Every loop's totals added up; with `reset`, rates and latency start afresh.
    func collect(reset: Bool) async throws -> ViewerTotals {
        var merged = ViewerTotals()
        for loop in loops {
            let bound = table[ObjectIdentifier(loop)]!
            merged.add(try await loop.submit { bound.value.snapshot(reset: reset) }.get())
        }
        return merged
    }
}
