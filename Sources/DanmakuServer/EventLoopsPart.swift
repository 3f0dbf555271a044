// Danmaku — a live-stream bullet-comment service.

import NIOPosix
import ServiceLifecycle

/// The server's event loops as its first part, so the last to stop: every other part (the
/// listener, the hub, Redis, the archive) runs on them or answers through them until it has
/// stopped. The loops run on threads of their own; this part only holds them for the group.
struct EventLoopsPart: Service, CustomStringConvertible {
    var description: String { "event loops" }
    let group: MultiThreadedEventLoopGroup

    func run() async {
        // A forced stop (cancellation) ends the wait too: the threads are released either way.
        try? await gracefulShutdown()
        try? await group.shutdownGracefully()
    }
}
