// Danmaku — a live-stream bullet-comment service.

import DanmakuRedisBus
import ServiceLifecycle

/// The Redis bus as a part of the server. It is connected before the listener binds (a refused
/// password stops the start); its timers (repair, polling, replica checks, topology refresh) run
/// on its event loop. `run()` does its background work, the retries of withdrawals (`Withdrawals`), until
/// graceful shutdown; then the bus publishes what waits and closes its connections.
struct RedisPart: Service, CustomStringConvertible {
    var description: String { "redis" }
    let bus: RedisBus

    func run() async {
        await withGracefulShutdownHandler {
            await bus.run()
        } onGracefulShutdown: { [bus] in
            bus.stopBackgroundWork()
        }
        await bus.shutdown()
    }
}
