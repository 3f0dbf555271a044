import DanmakuTestSupport
import Foundation
import Testing

extension DistributedModeTests {
    /// Streams and replay in cluster mode: kept in Redis, so any node starts, ends and replays them.
    @Suite struct ClusterReplayTests {
        let tokens = ClusterModerationTests()

        @Test(arguments: [false, true]) func aStreamStartedOnOneNodeEndsAndReplaysOnAnother(redisCluster: Bool) async throws {
            try await Cluster.with(api: 2, push: 0, redisCluster: redisCluster, extra: ["--jwt-secret", ClusterModerationTests.secret]) { cluster in
                let (moderator, fan) = (try tokens.token("mod", "moderator"), try tokens.token("fan", "viewer"))
                let (a, b) = (cluster.api[0].port, cluster.api[1].port)
                let started = try await tokens.call(a, "POST", "/v1/rooms/cr/live", moderator)
                #expect(started.status == 200 && started.json["stream"] as? Int == 1, "\(started)")
                #expect(try await tokens.call(b, "POST", "/v1/rooms/cr/live", moderator).json["stream"] as? Int == 1, "the live one")
                for index in 0..<20 {
                    #expect(try await tokens.call(index % 2 == 0 ? a : b, "POST", "/v1/rooms/cr/comments", fan, #"{"text":"r \#(index)"}"#).status == 201)
                }
                let ended = try await tokens.call(b, "DELETE", "/v1/rooms/cr/live", moderator)
                #expect(ended.status == 200 && ended.json["endedAt"] as? Int != nil, "\(ended)")
                #expect(try await tokens.call(a, "DELETE", "/v1/rooms/cr/live", moderator).errorCode == "not_live")
                #expect(try await tokens.call(b, "POST", "/v1/rooms/cr/comments", fan, #"{"text":"after the end"}"#).status == 201)

                let replay = try await httpRequest(port: a, method: "GET", path: "/v1/rooms/cr/replay").json
                let items = replay["comments"] as? [[String: Any]] ?? []
                #expect(items.count == 20, "the stream's comments, not the one after it")
                let offsets = items.compactMap { $0["offset"] as? Int }
                #expect(offsets == offsets.sorted() && offsets.allSatisfy { $0 >= 0 })
                #expect(Set(items.compactMap { ($0["comment"] as? [String: Any])?["text"] as? String }) == Set((0..<20).map { "r \($0)" }))
                // A second stream gets the next id; the first stays replayable by id.
                #expect(try await tokens.call(a, "POST", "/v1/rooms/cr/live", moderator).json["stream"] as? Int == 2)
                let first = try await httpRequest(port: b, method: "GET", path: "/v1/rooms/cr/replay?stream=1").json
                #expect((first["comments"] as? [[String: Any]])?.count == 20)
            }
        }
    }
}
