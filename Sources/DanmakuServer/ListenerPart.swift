// Danmaku — a live-stream bullet-comment service.

import NIOConcurrencyHelpers
import NIOCore
import ServiceLifecycle

/// The listening socket as a part of the server: `run()` lasts as long as the socket accepts.
/// Graceful shutdown closes it (told first through `onStopAccepting`, so that `/readyz` turns
/// away traffic from then on); a socket that closes by itself is an error, which stops the
/// server's group rather than leaving a node that serves nobody.
struct ListenerPart: Service, CustomStringConvertible {
    var description: String { "listener" }
    let channel: any Channel
    let onStopAccepting: @Sendable () -> Void

    func run() async throws {
        let closedByShutdown = NIOLockedValueBox(false)
        try await withGracefulShutdownHandler {
            try await channel.closeFuture.get()
        } onGracefulShutdown: { [channel, onStopAccepting] in
            closedByShutdown.withLockedValue { $0 = true }
            onStopAccepting()
            channel.close(promise: nil)
        }
        if !closedByShutdown.withLockedValue({ $0 }) { throw ListenerClosed() }
    }
}

/// The listening socket closed while the server was not shutting down.
struct ListenerClosed: Error, CustomStringConvertible {
    var description: String { "the listening socket closed unexpectedly" }
}
