// Danmaku — a live-stream bullet-comment service.

import DanmakuPush
import NIOCore
import ServiceLifecycle

/// The push role's hub as a part of the server. Its shards run on the event loops (windows,
/// heartbeats and tuning are loop timers, not tasks); on graceful shutdown this part sends every
/// viewer close 1001, waits for them at most `drainTimeout`, and stops the shards.
struct PushHubPart: Service, CustomStringConvertible {
    var description: String { "push hub" }
    let hub: PushHub
    let drainTimeout: TimeAmount

    func run() async {
        // A forced stop (cancellation) ends the wait too: the hub is stopped either way.
        try? await gracefulShutdown()
        await hub.drain(timeout: drainTimeout)
        await hub.stop()
    }
}
