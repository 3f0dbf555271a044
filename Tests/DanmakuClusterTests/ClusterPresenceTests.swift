import DanmakuTestSupport
import Foundation
import Testing

extension DistributedModeTests {
    /// Online counts across push nodes, through Redis.
    @Suite struct ClusterPresenceTests {
        func lastOnline(_ state: TestViewer.State) -> Int? {
            state.messages.last { $0["type"] as? String == "online" }?["count"] as? Int
        }

        func online(port: Int, room: String) async throws -> Int? {
            try await httpRequest(port: port, method: "GET", path: "/v1/rooms/\(room)").json["online"] as? Int
        }

        @Test(arguments: [false, true]) func countsConvergeAcrossPushNodesAndADeadNodeStopsCounting(redisCluster: Bool) async throws {
            try await Cluster.with(api: 1, push: 2, redisCluster: redisCluster) { cluster in
                var viewers: [TestViewer] = []
                for index in 0..<7 {
                    viewers.append(try await TestViewer.join(port: cluster.push[index < 3 ? 0 : 1].port, room: "presence"))
                }
                // Every node (ingest/logic and push) reads the same total; every viewer is told it.
                try await eventually("the API node counts 7", timeout: .seconds(15)) { try await online(port: cluster.api[0].port, room: "presence") == 7 }
                try await eventually("a push node counts 7", timeout: .seconds(15)) { try await online(port: cluster.push[0].port, room: "presence") == 7 }
                for viewer in viewers {
                    try await viewer.observed.wait(for: "online 7", timeout: .seconds(15)) { lastOnline($0) == 7 }
                }
                let top = try await httpRequest(port: cluster.api[0].port, method: "GET", path: "/v1/rooms?top=5").json
                #expect((top["rooms"] as? [[String: Any]])?.first?["online"] as? Int == 7)

                // A node that dies without a word stops counting once its report expires.
                await cluster.push[1].stop(signal: SIGKILL)
                try await eventually("the count drops to 3", timeout: .seconds(20)) { try await online(port: cluster.api[0].port, room: "presence") == 3 }
                try await viewers[0].observed.wait(for: "online 3", timeout: .seconds(15)) { lastOnline($0) == 3 }
                for viewer in viewers { await viewer.close() }
            }
        }
    }
}
