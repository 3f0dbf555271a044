// Danmaku — a live-stream bullet-comment service.

import Logging
import ServiceLifecycle

/// Runs a `DanmakuServer` as a swift-service-lifecycle `Service`: serves until graceful
/// shutdown (SIGTERM/SIGINT via `ServiceGroup`), then drains and stops.
public struct DanmakuService: Service {
    private let server: DanmakuServer
    private let onListening: @Sendable (Int) -> Void

    /// - Parameter onListening: told the bound port once the server accepts connections.
    public init(server: DanmakuServer, onListening: @escaping @Sendable (Int) -> Void = { _ in }) {
        self.server = server
        self.onListening = onListening
    }

    public func run() async throws {
        // The server's own group of parts follows this group's graceful shutdown.
        try await server.run { [onListening] address in onListening(address.port ?? 0) }
    }
}
