// Danmaku — a live-stream bullet-comment service.

/// One Redis server, by where it listens.
public struct RedisNode: Hashable, Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `HOST:PORT` as written in `MOVED` and `ASK` redirections (an IPv6 host keeps its colons).
    public init?(redirection text: Substring) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
              (1...65535).contains(port), colon > text.startIndex else { return nil }
        self.init(host: String(text[..<colon]), port: port)
    }

    public var description: String { "\(host):\(port)" }
}

/// Which master serves each slot of a Redis Cluster, read from `CLUSTER SLOTS`.
public struct RedisClusterTopology: Sendable, Equatable {
    /// The masters, each once.
    public private(set) var masters: [RedisNode] = []
    /// For each slot, its master's index in `masters`; -1 for a slot no master serves.
    private var owners = [Int16](repeating: -1, count: RedisHashSlot.count)

    /// Reads a `CLUSTER SLOTS` reply (`[[first, last, [host, port, id, …], replicas…], …]`). A
    /// master whose host is empty or `?` is the server that was asked (`askedHost`).
    public init?(clusterSlots reply: RESPValue, askedHost: String) {
        guard let ranges = reply.array else { return nil }
        for range in ranges {
            guard let parts = range.array, parts.count >= 3, let first = parts[0].integer, let last = parts[1].integer,
                  first >= 0, first <= last, last < RedisHashSlot.count,
                  let master = parts[2].array, master.count >= 2, let host = master[0].string, let port = master[1].integer,
                  (1...65535).contains(port)
            else { return nil }
            let node = RedisNode(host: host.isEmpty || host == "?" ? askedHost : host, port: Int(clamping: port))
            guard let index = index(of: node) else { return nil }
            for slot in Int(clamping: first)...Int(clamping: last) { owners[slot] = index }
        }
    }

    /// The master serving `slot`, nil when none does (the cluster is incomplete).
    public func owner(ofSlot slot: Int) -> RedisNode? {
        let index = owners[slot]
        return index < 0 ? nil : masters[Int(index)]
    }

    /// Records a `MOVED` redirection: `slot` is now served by `node`.
    public mutating func assign(slot: Int, to node: RedisNode) {
        if let index = index(of: node) { owners[slot] = index }
    }

    /// `node`'s index in `masters`, added if new; nil past one master per slot (a reply naming
    /// more is not a cluster's, and an index must fit `owners`' Int16).
    private mutating func index(of node: RedisNode) -> Int16? {
        if let known = masters.firstIndex(of: node) { return Int16(exactly: known) }
        guard masters.count < RedisHashSlot.count, let next = Int16(exactly: masters.count) else { return nil }
        masters.append(node)
        return next
    }
}
