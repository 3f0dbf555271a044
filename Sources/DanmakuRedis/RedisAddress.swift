// Danmaku — a live-stream bullet-comment service.

import Foundation

/// Where a Redis server listens and how to log in:
/// `redis://[USER[:PASSWORD]@]HOST[:PORT][/DB]` (port 6379 and database 0 when omitted),
/// `rediss://…` for TLS, or `redis-sentinel://[USER[:PASSWORD]@]HOST:PORT[,HOST:PORT…]/MASTER[/DB]`
/// for the primary that Redis Sentinels at those addresses name `MASTER` (port 26379 when omitted).
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
    /// The Sentinels to ask for the primary, for `redis-sentinel://`; `host` and `port` are then
    /// the first Sentinel's until the primary is known.
    public var sentinel: RedisSentinels?

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
        if url.hasPrefix("redis-sentinel://") {
            self.init(sentinelURL: url)
            return
        }
        let secure = url.hasPrefix("rediss://")
        guard secure || url.hasPrefix("redis://") else { return nil }
        var rest = Substring(url.dropFirst(secure ? "rediss://".count : "redis://".count))
        guard let (username, password) = Self.takeCredentials(from: &rest) else { return nil }
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
        if let sentinel {
            return "redis-sentinel://\(login)" + sentinel.nodes.map(\.description).joined(separator: ",") + "/\(sentinel.masterName)"
                + (database == 0 ? "" : "/\(database)")
        }
        return (tls == nil ? "redis://" : "rediss://") + "\(login)\(host):\(port)" + (database == 0 ? "" : "/\(database)")
    }

    /// Takes `[USER[:PASSWORD]@]` (percent-encoded) off the front of `rest`; nil when malformed.
    private static func takeCredentials(from rest: inout Substring) -> (username: String?, password: String?)? {
        guard let at = rest.lastIndex(of: "@") else { return (nil, nil) }
        let credentials = rest[..<at].split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        guard let user = credentials[0].removingPercentEncoding else { return nil }
        var password: String?
        if credentials.count == 2 {
            guard let secret = credentials[1].removingPercentEncoding else { return nil }
            password = secret
        }
        rest = rest[rest.index(after: at)...]
        return (user.isEmpty ? nil : user, password)
    }

    /// Parses `redis-sentinel://[USER[:PASSWORD]@]HOST[:PORT][,HOST[:PORT]…]/MASTER[/DB]`.
    private init?(sentinelURL url: String) {
        var rest = Substring(url.dropFirst("redis-sentinel://".count))
        guard let (username, password) = Self.takeCredentials(from: &rest) else { return nil }
        let parts = rest.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2 || parts.count == 3, !parts[1].isEmpty, parts[1].count <= 256 else { return nil }
        var database = 0
        if parts.count == 3 {
            guard parts[2].allSatisfy(\.isNumber), let number = Int(parts[2]), (0...15_999).contains(number) else { return nil }
            database = number
        }
        var nodes: [RedisNode] = []
        for entry in parts[0].split(separator: ",") {
            let hostPort = entry.split(separator: ":", omittingEmptySubsequences: false)
            guard let host = hostPort.first, !host.isEmpty, hostPort.count <= 2 else { return nil }
            var port = 26379
            if hostPort.count == 2 {
                guard hostPort[1].allSatisfy(\.isNumber), let parsed = Int(hostPort[1]), (1...65535).contains(parsed) else { return nil }
                port = parsed
            }
            nodes.append(RedisNode(host: String(host), port: port))
        }
        guard let first = nodes.first, nodes.count <= 16 else { return nil }
        self.init(host: first.host, port: first.port, username: username, password: password, database: database)
        sentinel = RedisSentinels(nodes: nodes, masterName: String(parts[1]))
    }
}

/// Redis Sentinels that watch a primary, and the name they know it by.
public struct RedisSentinels: Sendable, Equatable {
    /// Where the Sentinels listen (asked in turn).
    public var nodes: [RedisNode]
    /// The monitored primary's name (`sentinel monitor NAME …`).
    public var masterName: String

    public init(nodes: [RedisNode], masterName: String) {
        self.nodes = nodes
        self.masterName = masterName
    }
}
