import Foundation
import NIOCore
import NIOPosix

/// A real Redis Cluster on loopback for one test: three masters and a replica of each
/// (`redis-server --cluster-enabled yes` × 6, joined by `redis-cli --cluster create`).
public final class RedisCluster: Sendable {
    /// Every node, masters and replicas as `redis-cli` made them.
    public let servers: [RedisServer]
    /// The password every node requires, if any.
    public let password: String?
    /// Each node's TLS port, when the cluster speaks TLS (clients, replication and its own bus).
    public let tlsPorts: [Int]?

    /// A URL naming one node (with the password); the bus finds the others.
    public var url: String {
        (tlsPorts == nil ? "redis://" : "rediss://") + (password.map { ":\($0)@" } ?? "") + "127.0.0.1:\(tlsPorts?[0] ?? servers[0].port)"
    }

    private init(servers: [RedisServer], password: String?, tlsPorts: [Int]?) {
        self.servers = servers
        self.password = password
        self.tlsPorts = tlsPorts
    }

    /// Starts six nodes and joins them; waits until every node says the cluster is ok and every
    /// replica has synced. A node that misses another's heartbeats for `nodeTimeout` is failed
    /// over. With `password`, every node requires it (replicas log in to their masters with it)
    /// once the cluster is up. With `tls`, each node also listens for TLS on a port of its own,
    /// which it announces, and the nodes talk to each other over TLS too; the plain port stays
    /// for the test's own checks.
    public static func start(
        durable: Bool = false, password: String? = nil, tls: TestCertificates? = nil, nodeTimeout: Duration = .seconds(1)
    ) async throws -> RedisCluster {
        var servers: [RedisServer] = []
        var tlsPorts: [Int] = []
        do {
            for _ in 0..<6 {
                var arguments = [
                    "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                    "--cluster-node-timeout", String(Int(nodeTimeout / .milliseconds(1))),
                ]
                if let tls {
                    // The cluster bus listens 10,000 above the announced (TLS) port.
                    let tlsPort = try clusterPort()
                    tlsPorts.append(tlsPort)
                    arguments += tls.redisArguments(tlsPort: tlsPort) + ["--tls-cluster", "yes", "--tls-replication", "yes"]
                }
                servers.append(try await RedisServer.start(durable: durable, extraArguments: arguments, choosingPort: tls == nil ? clusterPort : RedisServer.freePort))
            }
            let cluster = RedisCluster(servers: servers, password: nil, tlsPorts: tls == nil ? nil : tlsPorts)
            let nodes = tls == nil ? servers.map { "127.0.0.1:\($0.port)" } : tlsPorts.map { "127.0.0.1:\($0)" }
            _ = try await cluster.cli((tls.map { ["--tls", "--cacert", $0.caFile] } ?? []) + ["--cluster", "create"] + nodes + ["--cluster-replicas", "1", "--cluster-yes"])
            try await cluster.waitUntilHealthy()
            guard let password else { return cluster }
            for server in servers {
                _ = try await cluster.cli(["-p", String(server.port), "config", "set", "masterauth", password])
                _ = try await cluster.cli(["-p", String(server.port), "config", "set", "requirepass", password])
            }
            return RedisCluster(servers: servers, password: password, tlsPorts: cluster.tlsPorts)
        } catch {
            for server in servers { await server.remove() }
            throw error
        }
    }

    /// Runs `body` on a fresh cluster and removes it whatever happens.
    public static func with<T>(
        durable: Bool = false, password: String? = nil, tls: TestCertificates? = nil, _ body: (RedisCluster) async throws -> T
    ) async throws -> T {
        let cluster = try await start(durable: durable, password: password, tls: tls)
        do {
            let result = try await body(cluster)
            await cluster.remove()
            return result
        } catch {
            await cluster.remove()
            throw error
        }
    }

    /// Stops every node and removes their directories.
    public func remove() async {
        for server in servers {
            // `RedisServer.stop` asks for a SHUTDOWN without logging in first.
            if password != nil { await server.kill() }
            await server.remove()
        }
    }

    /// Waits until every running node reports `cluster_state:ok`, every slot is served, and
    /// every replica's link to its master is up.
    public func waitUntilHealthy(timeout: Duration = .seconds(30)) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            var healthy = true
            for server in servers where server.isRunning {
                let info = (try? await cli(["-p", String(server.port), "cluster", "info"])) ?? ""
                let replication = (try? await cli(["-p", String(server.port), "info", "replication"])) ?? ""
                if !info.contains("cluster_state:ok") || !info.contains("cluster_slots_ok:16384")
                    || (replication.contains("role:slave") && !replication.contains("master_link_status:up")) {
                    healthy = false
                }
            }
            if healthy { return }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw TimedOut(description: "the redis cluster did not become healthy")
    }

    /// The master serving `key`'s slot now.
    public func master(serving key: String) async throws -> RedisServer {
        let slot = try await self.slot(of: key)
        for line in try await nodes() where line.isMaster && line.slots.contains(where: { $0.contains(slot) }) {
            if let server = server(announcing: line.port) { return server }
        }
        throw TimedOut(description: "no master serves slot \(slot)")
    }

    /// The node that announces `port` (its TLS port in a TLS cluster).
    private func server(announcing port: Int) -> RedisServer? {
        if let tlsPorts, let index = tlsPorts.firstIndex(of: port) { return servers[index] }
        return servers.first { $0.port == port }
    }

    /// The slot of `key`, as the cluster computes it.
    public func slot(of key: String) async throws -> Int {
        let reply = try await cli(["-p", String(try await anyRunning().port), "cluster", "keyslot", key])
        guard let slot = Int(reply.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw TimedOut(description: "CLUSTER KEYSLOT said \(reply)")
        }
        return slot
    }

    /// The masters with at least one slot, by (plain) port.
    public func masterPorts() async throws -> Set<Int> {
        Set(try await nodes().filter { $0.isMaster && !$0.slots.isEmpty }.compactMap { server(announcing: $0.port)?.port })
    }

    /// Moves `slot`, keys and all, to the master `target`, the way `redis-cli --cluster reshard`
    /// moves each slot: importing/migrating marks, `MIGRATE` in batches, then the new owner
    /// announced to every master.
    public func migrate(slot: Int, to target: RedisServer) async throws {
        let source = try await masterServing(slot: slot)
        guard source.port != target.port else { return }
        let sourceID = try await nodeID(source)
        let targetID = try await nodeID(target)
        _ = try await cli(["-p", String(target.port), "cluster", "setslot", String(slot), "importing", sourceID])
        _ = try await cli(["-p", String(source.port), "cluster", "setslot", String(slot), "migrating", targetID])
        while true {
            let keys = try await cli(["-p", String(source.port), "cluster", "getkeysinslot", String(slot), "100"])
                .split(separator: "\n").map(String.init).filter { !$0.isEmpty }
            if keys.isEmpty { break }
            _ = try await cli(["-p", String(source.port), "migrate", "127.0.0.1", String(target.port), "", "0", "5000", "keys"] + keys)
        }
        // The new owner first, as the specification advises (the old one then redirects to a
        // node that already knows), then everyone else.
        let others = try await masterPorts().subtracting([target.port, source.port]).sorted()
        for port in [target.port, source.port] + others {
            _ = try await cli(["-p", String(port), "cluster", "setslot", String(slot), "node", targetID])
        }
    }

    private func masterServing(slot: Int) async throws -> RedisServer {
        for line in try await nodes() where line.isMaster && line.slots.contains(where: { $0.contains(slot) }) {
            if let server = server(announcing: line.port) { return server }
        }
        throw TimedOut(description: "no master serves slot \(slot)")
    }

    private func nodeID(_ server: RedisServer) async throws -> String {
        try await cli(["-p", String(server.port), "cluster", "myid"]).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private func anyRunning() async throws -> RedisServer {
        for server in servers where server.isRunning { return server }
        throw TimedOut(description: "no redis node is running")
    }

    /// One line of `CLUSTER NODES`.
    struct NodeLine {
        var port: Int
        var isMaster: Bool
        var slots: [ClosedRange<Int>]
    }

    private func nodes() async throws -> [NodeLine] {
        let text = try await cli(["-p", String(try await anyRunning().port), "cluster", "nodes"])
        return text.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ")
            guard fields.count >= 8, let colon = fields[1].firstIndex(of: ":") else { return nil }
            let portText = fields[1][fields[1].index(after: colon)...].prefix { $0.isNumber }
            guard let port = Int(portText) else { return nil }
            let flags = fields[2].split(separator: ",")
            let isMaster = flags.contains("master") && !flags.contains("fail")
            let slots = fields.dropFirst(8).compactMap { field -> ClosedRange<Int>? in
                guard !field.hasPrefix("[") else { return nil }  // a slot being migrated or imported
                let bounds = field.split(separator: "-").compactMap { Int($0) }
                return bounds.count == 2 ? bounds[0]...bounds[1] : bounds.count == 1 ? bounds[0]...bounds[0] : nil
            }
            return NodeLine(port: port, isMaster: isMaster, slots: slots)
        }
    }

    /// Runs `redis-cli` (found beside `redis-server`) and returns its output; fails on a nonzero exit.
    public func cli(_ arguments: [String]) async throws -> String {
        let executable = try RedisServer.executable.deletingLastPathComponent().appendingPathComponent("redis-cli")
        let (status, text) = try await ChildProcess.run(executable, (password.map { ["-a", $0, "--no-auth-warning"] } ?? []) + arguments)
        guard status == 0 else { throw TimedOut(description: "redis-cli \(arguments.joined(separator: " ")) exited \(status): \(text)") }
        return text
    }

    /// A free port below 55536 whose cluster bus port (port + 10000) is free too.
    static func clusterPort() throws -> Int {
        for _ in 0..<100 {
            let port = Int.random(in: 20000..<30000)
            if isFree(port), isFree(port + 10000) { return port }
        }
        throw TimedOut(description: "no free port pair for a cluster node")
    }

    private static func isFree(_ port: Int) -> Bool {
        guard let channel = try? ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: port).wait() else {
            return false
        }
        try? channel.close().wait()
        return true
    }
}
