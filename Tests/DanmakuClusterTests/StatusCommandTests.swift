import DanmakuTestSupport
import Foundation
import Testing

extension DistributedModeTests {
    /// `danmaku status` against running nodes, as an operator runs it.
    @Suite struct StatusCommandTests {
        /// Runs `danmaku status ARGUMENTS` to its exit; its status and standard output.
        func status(_ arguments: [String]) async throws -> (status: Int32, output: String) {
            try await ChildProcess.run(DanmakuNode.executable, ["status"] + arguments, timeout: .seconds(30))
        }

        /// Posts to `room` every 25 ms until `done`, so that accepted/s is above zero.
        func postEvery25Milliseconds(port: Int, room: String, until done: Observed<Bool>) -> Task<Void, any Error> {
            Task {
                var index = 0
                while !done.value {
                    _ = try await postComment(port: port, room: room, json: #"{"text":"\#(room) \#(index)"}"#)
                    index += 1
                    try await Task.sleep(for: .milliseconds(25))
                }
            }
        }

        @Test func showsEveryNodeItsViewersAndTheBusiestRoom() async throws {
            try await Cluster.with(api: 1, push: 2) { cluster in
                let redis = try #require(cluster.redis)
                var viewers: [TestViewer] = []
                for index in 0..<5 { viewers.append(try await TestViewer.join(port: cluster.push[index < 3 ? 0 : 1].port, room: "busy")) }
                viewers.append(try await TestViewer.join(port: cluster.push[1].port, room: "quiet"))
                let done = Observed(false)
                let posting = postEvery25Milliseconds(port: cluster.api[0].port, room: "busy", until: done)
                // Until the presence reports (every 2 s) have reached Redis and the API node.
                try await eventually("the API node counts 5 in the busy room") {
                    let reply = try await httpRequest(port: cluster.api[0].port, method: "GET", path: "/v1/rooms/busy")
                    return reply.json["online"] as? Int == 5
                }
                let urls = ([cluster.api[0]] + cluster.push).flatMap { ["--url", "http://127.0.0.1:\($0.port)"] }
                let (code, output) = try await status(urls + ["--bus", redis.url, "--interval", "2"])
                done.update { $0 = true }
                try await posting.value
                #expect(code == 0, "\(output)")
                let lines = output.split(separator: "\n")
                for node in cluster.push + cluster.api {
                    #expect(lines.contains { $0.hasPrefix("http://127.0.0.1:\(node.port) ") && !$0.contains("not answering") }, "\(output)")
                }
                // Push node 0 has 3 viewers, node 1 has 3 (2 busy + 1 quiet).
                let push0 = try #require(lines.first { $0.hasPrefix("http://127.0.0.1:\(cluster.push[0].port) ") })
                #expect(push0.split(separator: " ", omittingEmptySubsequences: true)[1] == "3", "\(push0)")
                let api = try #require(lines.first { $0.hasPrefix("http://127.0.0.1:\(cluster.api[0].port) ") })
                let accepted = Double(api.split(separator: " ", omittingEmptySubsequences: true)[4]) ?? 0
                #expect(accepted > 0, "the API node's accepted/s while posting: \(api)")
                // The busiest room, with its online count across the cluster.
                #expect(lines.contains { $0.hasPrefix("busy ") && $0.split(separator: " ", omittingEmptySubsequences: true)[1] == "5" }, "\(output)")
                // Both push nodes, as they report themselves to Redis.
                let clusterSection = try #require(output.components(separatedBy: "cluster nodes reporting viewers").last)
                let nodeRows = clusterSection.split(separator: "\n").dropFirst(2)
                #expect(nodeRows.count == 2, "\(clusterSection)")
                #expect(Set(nodeRows.map { $0.split(separator: " ", omittingEmptySubsequences: true)[1] }) == ["3"], "\(clusterSection)")
                for viewer in viewers { await viewer.close() }
            }
        }

        @Test func theBusAloneFindsEveryNodeAndReadsItsRates() async throws {
            try await Cluster.with(api: 1, push: 1) { cluster in
                let redis = try #require(cluster.redis)
                let viewer = try await TestViewer.join(port: cluster.push[0].port, room: "found")
                let done = Observed(false)
                let posting = postEvery25Milliseconds(port: cluster.api[0].port, room: "found", until: done)
                // Until both nodes have announced themselves (with their first presence report).
                try await eventually("both nodes announced") {
                    let output = try await status(["--bus", redis.url, "--interval", "0.2"]).output
                    return cluster.push.allSatisfy { output.contains("http://127.0.0.1:\($0.port) ") }
                        && output.contains("http://127.0.0.1:\(cluster.api[0].port) ")
                }
                let (code, output) = try await status(["--bus", redis.url, "--interval", "1"])
                done.update { $0 = true }
                try await posting.value
                #expect(code == 0, "\(output)")
                let lines = output.split(separator: "\n")
                let api = try #require(lines.first { $0.hasPrefix("http://127.0.0.1:\(cluster.api[0].port) ") }, "\(output)")
                #expect((Double(api.split(separator: " ", omittingEmptySubsequences: true)[4]) ?? 0) > 0, "accepted/s read from the announced URL: \(api)")
                let push = try #require(lines.first { $0.hasPrefix("http://127.0.0.1:\(cluster.push[0].port) ") }, "\(output)")
                #expect(push.split(separator: " ", omittingEmptySubsequences: true)[1] == "1", "its viewer: \(push)")
                #expect(!output.contains("not answering") && !output.contains("unreachable"), "\(output)")
                await viewer.close()
            }
        }

        @Test func aNodeThatDoesNotAnswerIsSaidSo() async throws {
            let port = try RedisServer.freePort()
            let (code, output) = try await status(["--url", "http://127.0.0.1:\(port)", "--interval", "0.2"])
            #expect(code == 0)
            #expect(output.contains("http://127.0.0.1:\(port)  not answering") || output.contains("not answering"), "\(output)")
        }
    }
}
