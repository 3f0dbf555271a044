import DanmakuTestSupport
import Foundation
import Testing

extension DistributedModeTests {
    /// `redis-sentinel://`: the nodes use whichever server the Sentinel names primary, and follow it
    /// through a failover by themselves.
    @Suite(.serialized) struct SentinelTests {
        @Test func nodesFollowTheSentinelThroughAFailoverAndLoseNoAcceptedComment() async throws {
            try await RedisSentinel.with { redis in
                let api = try await DanmakuNode.start(
                    ["--roles", "ingest,logic", "--bus", redis.url, "--threads", "1", "--bus-min-replicas", "1"] + Cluster.wideLimits)
                let push = try await DanmakuNode.start(["--roles", "push", "--bus", redis.url, "--threads", "1"])
                let viewers = try await (0..<5).asyncMap { _ in try await TestViewer.join(port: push.port, room: "s", since: 0) }
                let cluster = Cluster(redis: nil, redisCluster: nil, api: [api], push: [push])
                let failedOver = Observed(false)
                let posting = Task {
                    try await RedisClusterModeTests.post(to: "s", through: cluster, after: failedOver, acceptedAfterwards: 40)
                }
                try await viewers[0].observed.wait(for: "comments flowing", timeout: .seconds(20)) { $0.seqs.count >= 30 }
                await redis.primary.kill()
                try await eventually("the sentinel names the replica") { try await redis.currentPrimaryPort() == redis.replica.port }
                // The old primary returns as the new one's replica (the Sentinel turns it into one), so
                // that `--bus-min-replicas 1` can be met again.
                try await redis.primary.start()
                failedOver.update { $0 = true }
                let outcome = try await posting.value
                #expect(outcome.otherStatuses.isEmpty, "only 201 and 503: \(outcome.otherStatuses)")
                try await RedisClusterModeTests.expectDelivered(["s": outcome.accepted], to: viewers.map { ("s", $0) })
                await api.stop()
                await push.stop()
            }
        }
    }
}
