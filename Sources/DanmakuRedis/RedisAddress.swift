// Danmaku — a live-stream bullet-comment service.

import Foundation

/// Where a Redis server listens and how to log in:
/// `redis://[USER[:PASSWORD]@]HOST[:PORT][/DB]` (port 6379 and database 0 when omitted), or
/// `rediss://…` for TLS.
///
/// The password is sent with `AUTH` on every connection (and every reconnect), never logged:
/// `description` masks it.
public struct RedisAddress: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int
    /// The ACL user; nil logs in as `default` (with a password) or not at all.
    public var username: String?
    /// The password; nil sends no `AUTH`.
    public var password: String?
    /// The database `SELECT`ed after logging in.
    public var database: Int
    /// TLS settings, for `rediss://`; nil is plain TCP.
    public var tls: RedisTLS?

    public init(host: String, port: Int, username: String? = nil, password: String? = nil, database: Int = 0, tls: RedisTLS? = nil) {
        self.tls = tls
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
    }

    /// Parses `redis://[USER[:PASSWORD]@]HOST[:PORT][/DB]` (user and password percent-encoded);
    /// nil for anything else.
    public init?(url: String) {
        let secure = url.hasPrefix("rediss://")
        guard secure || url.hasPrefix("redis://") else { return nil }
        var rest = Substring(url.dropFirst(secure ? "rediss://".count : "redis://".count))
        var username: String?
        var password: String?
        if let at = rest.lastIndex(of: "@") {
            let credentials = rest[..<at].split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            guard let user = credentials[0].removingPercentEncoding else { return nil }
            username = user.isEmpty ? nil : user
            if credentials.count == 2 {
                guard let secret = credentials[1].removingPercentEncoding else { return nil }
                password = secret
            }
            rest = rest[rest.index(after: at)...]
        }
        var database = 0
        if let slash = rest.firstIndex(of: "/") {
            let path = rest[rest.index(after: slash)...]
            if !path.isEmpty {
                guard path.allSatisfy(\.isNumber), let number = Int(path), (0...15_999).contains(number) else { return nil }
                database = number
            }
            rest = rest[..<slash]
        }
        let parts = rest.split(separator: ":", omittingEmptySubsequences: false)
        guard let host = parts.first, !host.isEmpty, parts.count <= 2 else { return nil }
        var port = 6379
        if parts.count == 2 {
            guard parts[1].allSatisfy(\.isNumber), let parsed = Int(parts[1]), (1...65535).contains(parsed) else { return nil }
            port = parsed
        }
        self.init(host: String(host), port: port, username: username, password: password, database: database, tls: secure ? RedisTLS() : nil)
    }

    public var description: String {
        let login = username.map { $0 + (password == nil ? "" : ":***") + "@" } ?? (password == nil ? "" : ":***@")
        return (tls == nil ? "redis://" : "rediss://") + "\(login)\(host):\(port)" + (database == 0 ? "" : "/\(database)")
    }
}
