// Danmaku — a live-stream bullet-comment service.

/// Why a Redis command did not get an answer.
public enum RedisError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Not connected (connecting, or waiting to reconnect after a failure).
    case unavailable(String)
    /// The connection closed before the answer came.
    case connectionClosed
    /// No answer within the command timeout; the connection is dropped and made again.
    case timeout(command: String)
    /// Redis answered with an error reply.
    case server(String)
    /// The answer had an unexpected shape.
    case unexpectedReply(String)

    public var description: String {
        switch self {
        case .unavailable(let why): "redis unavailable: \(why)"
        case .connectionClosed: "redis connection closed"
        case .timeout(let command): "redis did not answer \(command) in time"
        case .server(let message): "redis error: \(message)"
        case .unexpectedReply(let what): "unexpected redis reply: \(what)"
        }
    }
}

/// Where a Redis server listens: `redis://host:port` (port 6379 when omitted).
public struct RedisAddress: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `redis://host[:port][/]`; nil for anything else.
    public init?(url: String) {
        guard url.hasPrefix("redis://") else { return nil }
        var rest = url.dropFirst("redis://".count)
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        let parts = rest.split(separator: ":", omittingEmptySubsequences: false)
        guard let host = parts.first, !host.isEmpty, parts.count <= 2 else { return nil }
        self.host = String(host)
        if parts.count == 2 {
            guard let port = Int(parts[1]), (1...65535).contains(port) else { return nil }
            self.port = port
        } else {
            self.port = 6379
        }
    }

    public var description: String { "redis://\(host):\(port)" }
}
