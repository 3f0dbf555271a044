// Danmaku — a live-stream bullet-comment service.

import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import NIOWebSocket

/// Opens a viewer WebSocket: TCP (TLS for `wss`/`https`), the HTTP upgrade, then frames.
enum ViewerSocket {
    typealias Connection = NIOAsyncChannel<WebSocketFrame, WebSocketFrame>

    /// Where a server is: host, port, TLS.
    struct Endpoint: Sendable {
        var host: String
        var port: Int
        var tls: Bool

        init(_ url: String) throws {
            guard let schemeEnd = url.range(of: "://") else { throw DanmakuClientError.invalidURL(url) }
            let scheme = url[..<schemeEnd.lowerBound].lowercased()
            guard ["ws", "wss", "http", "https"].contains(scheme) else { throw DanmakuClientError.invalidURL(url) }
            tls = scheme == "wss" || scheme == "https"
            let authority = url[schemeEnd.upperBound...].prefix { $0 != "/" && $0 != "?" }
            var hostPart = Substring(authority)
            var portNumber = tls ? 443 : 80
            if let colon = authority.lastIndex(of: ":"), !authority.hasSuffix("]") {
                guard let parsed = Int(authority[authority.index(after: colon)...]), (1...65535).contains(parsed) else {
                    throw DanmakuClientError.invalidURL(url)
                }
                portNumber = parsed
                hostPart = authority[..<colon]
            }
            host = String(hostPart.trimmingCharacters(in: ["[", "]"]))
            guard !host.isEmpty else { throw DanmakuClientError.invalidURL(url) }
            port = portNumber
        }
    }

    private enum Upgrade: Sendable {
        case websocket(Connection)
        case refused(Int)
    }

    /// Connects and upgrades `path` (with its query); fails with `upgradeRefused` when the server
    /// answers with an HTTP error.
    static func open(_ endpoint: Endpoint, path: String, group: any EventLoopGroup) async throws -> Connection {
        let tlsContext = endpoint.tls ? try NIOSSLContext(configuration: .makeClientConfiguration()) : nil
        let upgrade: EventLoopFuture<Upgrade> = try await ClientBootstrap(group: group)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connect(host: endpoint.host, port: endpoint.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tlsContext {
                        try channel.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: tlsContext, serverHostname: endpoint.host))
                    }
                    let upgrader = NIOTypedWebSocketClientUpgrader<Upgrade>(maxFrameSize: Self.maxFrameBytes) { channel, _ in
                        channel.eventLoop.makeCompletedFuture {
                            .websocket(try Connection(wrappingChannelSynchronously: channel))
                        }
                    }
                    var headers = HTTPHeaders()
                    headers.add(name: "Host", value: endpoint.port == (endpoint.tls ? 443 : 80) ? endpoint.host : "\(endpoint.host):\(endpoint.port)")
                    headers.add(name: "Content-Length", value: "0")
                    let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: path, headers: headers)
                    let configuration = NIOTypedHTTPClientUpgradeConfiguration<Upgrade>(
                        upgradeRequestHead: head, upgraders: [upgrader],
                        notUpgradingCompletionHandler: { channel in
                            // The response head already went by; what is left tells nothing more.
                            channel.eventLoop.makeCompletedFuture { .refused(0) }
                        })
                    var pipeline = NIOUpgradableHTTPClientPipelineConfiguration(upgradeConfiguration: configuration)
                    // The server's first frame (`hello`) often arrives in the same read as its 101:
                    // those bytes go on to the WebSocket decoder (NIO drops them by default).
                    pipeline.leftOverBytesStrategy = .forwardBytes
                    return try channel.pipeline.syncOperations.configureUpgradableHTTPClientPipeline(configuration: pipeline)
                }
            }
        switch try await upgrade.get() {
        case .websocket(let connection): return connection
        case .refused(let status): throw DanmakuClientError.upgradeRefused(status: status)
        }
    }

    /// The largest frame accepted from the server (a hot room's batch can be large).
    static let maxFrameBytes = 16 << 20
}
