// Danmaku — a live-stream bullet-comment service.

import DanmakuBus
import DanmakuCore
import DanmakuPush
import Logging
import ServiceLifecycle

/// Every `interval`: reports this node's viewers per room, reads the deployment's totals into
/// the directory, lets viewers know the counts that changed, and applies rooms' display budgets.
/// A part of the server's lifecycle: on graceful shutdown it withdraws this node's counts.
struct PresenceLoop: Service, CustomStringConvertible {
    var description: String { "presence reporting" }
    let store: any PresenceStore
    let directory: OnlineDirectory
    /// The push role, if this node runs it (it has viewers to count and to tell).
    let hub: PushHub?
    let interval: Duration
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown { await report() }
        await store.withdraw()
    }

    private func report() async {
        var failing = false
        while !Task.isCancelled {
            let local = await hub?.localCounts() ?? [:]
            do {
                directory.replace(try await store.exchange(local: local))
                failing = false
            } catch {
                // Counts go stale, nothing else: comments do not depend on them.
                if !failing { logger.warning("online counts unavailable", metadata: ["error": "\(error)"]) }
                failing = true
            }
            hub?.announceOnline()
            // Room settings change rarely; this is when a new display budget or merge setting
            // takes effect.
            await hub?.refreshRoomPolicies()
            try? await Task.sleep(for: interval)
        }
    }
}
