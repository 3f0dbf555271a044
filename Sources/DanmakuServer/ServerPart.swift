// Danmaku — a live-stream bullet-comment service.

import ServiceLifecycle

/// A running part of a server (the listener, the hub's drain, the Redis connection, the archive,
/// the event loops) as a `Service`: it waits for graceful shutdown, then stops its part. The
/// server's `ServiceGroup` signals the parts in reverse order of start, each after the one
/// started after it has stopped.
struct ServerPart: Service, CustomStringConvertible {
    let description: String
    private let stop: @Sendable () async -> Void

    init(_ name: String, stop: @escaping @Sendable () async -> Void) {
        self.description = name
        self.stop = stop
    }

    func run() async throws {
        // A forced stop (cancellation) ends the wait too: the part is stopped either way.
        try? await gracefulShutdown()
        await stop()
    }
}
