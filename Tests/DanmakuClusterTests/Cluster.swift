import DanmakuTestSupport
import Foundation
import Testing

/// Real processes: a `redis-server` (or a Redis Cluster of six), `api` ingest/logic nodes and
/// `push` nodes joined by it.
struct Cluster {
    /// The one Redis server, unless the nodes run on a Redis Cluster.
    let redis: RedisServer?
    /// The Redis Cluster, when the nodes run on one.
    let redisCluster: RedisCluster?
    let api: [DanmakuNode]
    let push: [DanmakuNode]

    /// Limits wide enough that the tests' bursts from one address are not rate-limited.
    static let wideLimits = [
        "--user-rate", "100000/100000", "--ip-rate", "100000/100000", "--room-rate", "100000/100000",
        "--duplicate-window", "0",
    ]

    /// Starts the nodes on a fresh Redis server, or (`redisCluster`) a fresh Redis Cluster of
    /// three masters with a replica each.
    static func start(api: Int, push: Int, durable: Bool = false, redisCluster: Bool = false, extra: [String] = []) async throws -> Cluster {
        let server = redisCluster ? nil : try await RedisServer.start(durable: durable)
        let cluster = redisCluster ? try await RedisCluster.start(durable: durable) : nil
        let url = server?.url ?? cluster!.url
        var apiNodes: [DanmakuNode] = []
        var pushNodes: [DanmakuNode] = []
        do {
            for _ in 0..<api {
                apiNodes.append(try await DanmakuNode.start(["--roles", "ingest,logic", "--bus", url, "--threads", "1"] + wideLimits + extra))
            }
            for _ in 0..<push {
                pushNodes.append(try await DanmakuNode.start(["--roles", "push", "--bus", url, "--threads", "1"]))
            }
        } catch {
            for node in apiNodes + pushNodes { await node.stop(signal: SIGKILL) }
            await server?.remove()
            await cluster?.remove()
            throw error
        }
        return Cluster(redis: server, redisCluster: cluster, api: apiNodes, push: pushNodes)
    }

    func stop() async {
        for node in api + push { await node.stop() }
        await redis?.remove()
        await redisCluster?.remove()
    }

    /// Runs `body` on a fresh cluster and always stops it.
    static func with<T>(
        api: Int, push: Int, durable: Bool = false, redisCluster: Bool = false, extra: [String] = [], _ body: (Cluster) async throws -> T
    ) async throws -> T {
        let cluster = try await start(api: api, push: push, durable: durable, redisCluster: redisCluster, extra: extra)
        do {
            let result = try await body(cluster)
            await cluster.stop()
            return result
        } catch {
            await cluster.stop()
            throw error
        }
    }
}

/// The room's history as seqs, read from a node.
func historySeqs(port: Int, room: String) async throws -> [UInt64] {
    let reply = try await httpRequest(port: port, method: "GET", path: "/v1/rooms/\(room)/comments?since=0&limit=1000")
    let comments = reply.json["comments"] as? [[String: Any]] ?? []
    return comments.compactMap { ($0["seq"] as? NSNumber)?.uint64Value }
}


