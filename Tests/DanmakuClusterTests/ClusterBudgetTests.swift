import DanmakuTestSupport
import Foundation
import Testing

extension DistributedModeTests {
    /// A room's display budget and its notices in cluster mode: set through an API node (Redis), applied
    /// by the push nodes.
    @Suite struct ClusterBudgetTests {
        let tokens = ClusterModerationTests()

        @Test(arguments: [false, true]) func aBudgetSetOnAnAPINodeShedsOnThePushNodesAndNoticesStillArrive(redisCluster: Bool) async throws {
            try await Cluster.with(api: 1, push: 2, redisCluster: redisCluster, extra: ["--jwt-secret", ClusterModerationTests.secret]) { cluster in
                let (moderator, fan) = (try tokens.token("mod", "moderator"), try tokens.token("fan", "viewer"))
                let api = cluster.api[0].port
                let set = try await tokens.call(api, "PUT", "/v1/rooms/cb/settings", moderator, #"{"displayPerSecond":5}"#)
                #expect(set.status == 200, "\(set)")
                let viewers = try await [cluster.push[0].port, cluster.push[1].port].asyncMap { try await TestViewer.join(port: $0, room: "cb") }
                for viewer in viewers {
                    try await viewer.observed.wait(for: "hello with the budget") { state in
                        state.messages.contains { $0["type"] as? String == "hello" && $0["displayPerSecond"] as? Int == 5 }
                    }
                }
                let total = 200
                _ = try await postConcurrently(total, inFlight: 16) { index in
                    try await tokens.call(api, "POST", "/v1/rooms/cb/comments", fan, #"{"text":"c \#(index)"}"#).status
                }
                let notice = try await tokens.call(api, "POST", "/v1/rooms/cb/notices", moderator, #"{"text":"end"}"#)
                #expect(notice.status == 201, "\(notice)")
                let last = notice.json["seq"] as? Int ?? -1
                for viewer in viewers {
                    try await viewer.observed.wait(for: "the notice", timeout: .seconds(20)) { state in
                        state.messages.contains { message in
                            (message["comments"] as? [[String: Any]])?.contains { $0["seq"] as? Int == last } ?? false
                        }
                    }
                    let batches = viewer.observed.value.messages.filter { $0["type"] as? String == "comments" }
                    let received = batches.reduce(0) { $0 + (($1["comments"] as? [[String: Any]])?.count ?? 0) }
                    let shed = batches.reduce(0) { $0 + ($1["shed"] as? Int ?? 0) }
                    #expect(received + shed == last, "every seq received or announced as shed: \(received) + \(shed)")
                    #expect(shed > 0 && received < total / 2)
                }
                for viewer in viewers { await viewer.close() }
            }
        }
    }
}
