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
    /// The server refused this client's credentials (`WRONGPASS`, `NOAUTH`) or the permission to
    /// run a command it needs (`NOPERM`, naming the command): trying again cannot help, so the
    /// client stops and says why.
    case refused(String)

    /// Whether the command may have run all the same: it was sent, and its answer was lost
    /// (the connection closed) or late (the timeout).
    public var mayHaveRun: Bool {
        switch self {
        case .connectionClosed, .timeout: true
        case .unavailable, .server, .unexpectedReply, .refused: false
        }
    }

    public var description: String {
        switch self {
        case .unavailable(let why): "redis unavailable: \(why)"
        case .connectionClosed: "redis connection closed"
        case .timeout(let command): "redis did not answer \(command) in time"
        case .server(let message): "redis error: \(message)"
        case .unexpectedReply(let what): "unexpected redis reply: \(what)"
        case .refused(let why): "redis refused this client: \(why)"
        }
    }
}

extension RedisError {
    /// Whether this is the server refusing the client (see `refused`).
    public var isRefusal: Bool {
        if case .refused = self { return true }
        return false
    }

    /// Whether a reply says the client may not do this at all, so that retrying is pointless.
    static func isRefusal(_ message: String) -> Bool {
        ["WRONGPASS", "NOAUTH", "NOPERM", "ERR AUTH", "ERR invalid password", "ERR Client sent AUTH"].contains { message.hasPrefix($0) }
    }
}
