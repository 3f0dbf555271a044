import DanmakuTestSupport
import Foundation
import Testing

extension DistributedModeTests {
    /// The distributed mode as it runs: separate processes on a real Redis.
    @Suite(.serialized) struct ClusterTests {
        @Test(arguments: [false, true]) func viewersOnTwoPushNodesGetEveryCommentPostedToTwoIngestNodesOnceInOrder(redisCluster: Bool) async throws {
            try await Cluster.with(api: 2, push: 2, redisCluster: redisCluster) { cluster in
                // On a Redis Cluster, one room on each master.
                let rooms = if let redis = cluster.redisCluster {
                    try await RedisClusterModeTests.rooms(spreadOver: redis, perMaster: 1)
                } else {
                    ["r0", "r1", "r2"]
                }
                var viewers: [(room: String, viewer: TestViewer)] = []
                for index in 0..<60 {
                    let room = rooms[index % rooms.count]
                    viewers.append((room, try await TestViewer.join(port: cluster.push[index % 2].port, room: room)))
                }
                let total = 600
                let statuses = try await postConcurrently(total) { index in
                    try await postComment(
                        port: cluster.api[index % 2].port, room: rooms[index % rooms.count], json: #"{"text":"comment \#(index)"}"#
                    ).status
                }
                #expect(statuses == Array(repeating: 201, count: total))
                let perRoom = total / rooms.count
                for (room, viewer) in viewers {
                    try await viewer.waitForComments(perRoom)
                    #expect(viewer.observed.value.seqs == Array(1...UInt64(perRoom)), "a viewer of \(room)")
                }
                for room in rooms { #expect(try await historySeqs(port: cluster.push[0].port, room: room) == Array(1...UInt64(perRoom))) }
                // The bus's own metrics (cluster mode only) pass Prometheus's linter too.
                for node in cluster.api + cluster.push {
                    let text = String(decoding: try await httpRequest(port: node.port, method: "GET", path: "/metrics").body, as: UTF8.self)
                    #expect(text.contains("danmaku_bus_messages_"))
                    #expect(try await Promtool.checkMetrics(text).isEmpty)
                }
                for (_, viewer) in viewers { await viewer.close() }
            }
        }

        @Test(arguments: [false, true]) func viewersOfAKilledPushNodeResumeOnAnotherWithNothingMissingOrRepeated(redisCluster: Bool) async throws {
            try await Cluster.with(api: 1, push: 2, redisCluster: redisCluster) { cluster in
                let doomed = try await (0..<20).asyncMap { _ in try await TestViewer.join(port: cluster.push[0].port, room: "k") }
                let survivors = try await (0..<20).asyncMap { _ in try await TestViewer.join(port: cluster.push[1].port, room: "k") }
                let total = 400
                let posting = Task {
                    var statuses: [Int] = []
                    for index in 0..<total {
                        statuses.append(try await postComment(port: cluster.api[0].port, room: "k", json: #"{"text":"n \#(index)"}"#).status)
                        try await Task.sleep(for: .milliseconds(2))
                    }
                    return statuses
                }
                try await doomed[0].waitForComments(100)
                await cluster.push[0].stop(signal: SIGKILL)
                // Each viewer of the dead node reconnects to the other one from the last seq it saw.
                var resumed: [(before: [UInt64], after: TestViewer)] = []
                for viewer in doomed {
                    try await viewer.waitForClose()
                    let seen = viewer.observed.value.seqs
                    resumed.append((seen, try await TestViewer.join(port: cluster.push[1].port, room: "k", since: seen.last ?? 0)))
                }
                #expect(try await posting.value == Array(repeating: 201, count: total))
                let everything = Array(1...UInt64(total))
                for (before, after) in resumed {
                    try await after.observed.wait(for: "the rest", timeout: .seconds(20)) { before + $0.seqs == everything || $0.closed }
                    #expect(before + after.observed.value.seqs == everything)
                }
                for viewer in survivors {
                    try await viewer.waitForComments(total)
                    #expect(viewer.observed.value.seqs == everything)
                }
                for viewer in survivors + resumed.map(\.after) { await viewer.close() }
            }
        }

        @Test func aRedisRestartMeans503sMeanwhileAndNoAcceptedCommentLost() async throws {
            // A long command timeout, so that a quick 503 (the client knows Redis is gone) is told
            // apart from a command timing out, even on a loaded machine.
            try await Cluster.with(api: 1, push: 1, durable: true, extra: ["--bus-timeout-ms", "30000"]) { cluster in
                let viewers = try await (0..<10).asyncMap { _ in try await TestViewer.join(port: cluster.push[0].port, room: "o") }
                var accepted: [UInt64] = []
                var unavailable = 0
                func post(_ index: Int) async throws {
                    let started = ContinuousClock.now
                    let reply = try await postComment(port: cluster.api[0].port, room: "o", json: #"{"text":"o \#(index)"}"#)
                    if reply.status == 201 {
                        accepted.append((reply.json["seq"] as? NSNumber)?.uint64Value ?? 0)
                    } else {
                        #expect(reply.status == 503 && reply.errorCode == "bus_unavailable", "\(reply)")
                        #expect(reply.headers["retry-after"] != nil)
                        #expect(ContinuousClock.now - started < .seconds(10), "a 503 must come at once, not after the command timeout")
                        unavailable += 1
                    }
                }
                for index in 0..<50 { try await post(index) }
                #expect(try await httpRequest(port: cluster.api[0].port, method: "GET", path: "/readyz").status == 200)
                await cluster.redis?.stop()
                try await eventually("the node reports itself not ready") {
                    let reply = try await httpRequest(port: cluster.api[0].port, method: "GET", path: "/readyz")
                    return reply.status == 503 && reply.errorCode == "not_ready"
                }
                #expect(try await httpRequest(port: cluster.push[0].port, method: "GET", path: "/healthz").status == 200, "alive all the same")
                for index in 50..<80 {
                    try await post(index)
                    try await Task.sleep(for: .milliseconds(10))
                }
                try await #require(cluster.redis).start()
                var index = 80
                // The nodes reconnect by themselves (no restart): posting succeeds again.
                try await eventually("posts accepted again") {
                    try await post(index)
                    index += 1
                    return accepted.count >= 50 + 20
                }
                #expect(unavailable >= 30)
                try await eventually("ready again") {
                    try await httpRequest(port: cluster.push[0].port, method: "GET", path: "/readyz").status == 200
                }
                let history = try await historySeqs(port: cluster.push[0].port, room: "o")
                #expect(Set(accepted).isSubset(of: Set(history)), "an accepted comment is missing from history")
                #expect(history == Array(1...UInt64(history.count)))
                for viewer in viewers {
                    // Connected through the outage, and given everything history holds, once, in order.
                    try await viewer.observed.wait(for: "all comments", timeout: .seconds(20)) { $0.seqs.count >= history.count || $0.closed }
                    #expect(!viewer.observed.value.closed)
                    #expect(viewer.observed.value.seqs == history)
                    await viewer.close()
                }
            }
        }

        @Test func pushNodesHoldSubscriptionsOnlyForRoomsWithViewers() async throws {
            try await Cluster.with(api: 1, push: 1) { cluster in
                func channels() async throws -> Int {
                    let list = try await #require(cluster.redis).command(["PUBSUB", "SHARDCHANNELS", "danmaku:*"])
                    return Int(list.split(separator: "\r\n").first?.dropFirst() ?? "") ?? -1
                }
                var viewers: [TestViewer] = []
                for chunk in stride(from: 0, to: 1000, by: 50) {
                    viewers += try await (chunk..<chunk + 50).concurrentMap { try await TestViewer.join(port: cluster.push[0].port, room: "churn-\($0)") }
                }
                try await eventually("1,000 subscriptions") { try await channels() == 1000 }
                // Half leave, and a second viewer joins and leaves rooms that stay.
                for viewer in viewers[..<500] { await viewer.close() }
                try await eventually("500 subscriptions") { try await channels() == 500 }
                let visitor = try await TestViewer.join(port: cluster.push[0].port, room: "churn-700")
                await visitor.close()
                #expect(try await postComment(port: cluster.api[0].port, room: "churn-700", json: #"{"text":"still subscribed"}"#).status == 201)
                try await viewers[700].waitForComments(1)
                for viewer in viewers[500...] { await viewer.close() }
                try await eventually("no subscriptions") { try await channels() == 0 }
            }
        }
    }

    /// Bans and slow mode live in Redis: set through one ingest node, enforced by every one.
    @Suite struct ClusterModerationTests {
        static let secret = "cluster-secret-of-at-least-32-bytes"

        /// A JSON request carrying `token` (a raw token, sent as `Bearer`).
        func call(_ port: Int, _ method: String, _ path: String, _ token: String?, _ json: String = "") async throws -> HTTPReply {
            try await jsonRequest(port: port, method, path, authorization: token.map { "Bearer \($0)" }, json)
        }

        func token(_ user: String, _ role: String) throws -> String {
            let process = Process()
            process.executableURL = DanmakuNode.executable
            process.arguments = ["token", "--secret", Self.secret, "--user", user, "--name", user, "--role", role, "--ttl", "10m"]
            let output = Pipe()
            process.standardOutput = output
            try process.run()
            process.waitUntilExit()
            return String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }

        @Test(arguments: [false, true]) func aBanOrSlowModeSetOnOneNodeHoldsOnTheOther(redisCluster: Bool) async throws {
            try await Cluster.with(api: 2, push: 0, redisCluster: redisCluster, extra: ["--jwt-secret", Self.secret]) { cluster in
                let (moderator, troll, fan) = (try token("mod", "moderator"), try token("troll", "viewer"), try token("fan", "viewer"))
                func call(_ node: Int, _ method: String, _ path: String, _ token: String, _ json: String) async throws -> HTTPReply {
                    try await httpRequest(
                        port: cluster.api[node].port, method: method, path: path,
                        headers: ["Content-Type": "application/json", "Authorization": "Bearer \(token)"], body: Array(json.utf8))
                }
                #expect(try await call(0, "POST", "/v1/rooms/c/bans", moderator, #"{"user":"troll","seconds":60}"#).status == 200)
                #expect(try await call(1, "POST", "/v1/rooms/c/comments", troll, #"{"text":"hi"}"#).errorCode == "banned")
                #expect(try await call(1, "PUT", "/v1/rooms/c/settings", moderator, #"{"slowModeSeconds":60}"#).status == 200)
                #expect(try await call(0, "POST", "/v1/rooms/c/comments", fan, #"{"text":"one"}"#).status == 201)
                #expect(try await call(1, "POST", "/v1/rooms/c/comments", fan, #"{"text":"two"}"#).errorCode == "slow_mode")
                #expect(try await call(0, "PUT", "/v1/rooms/d/settings", moderator, #"{"rate":"0.1/2"}"#).status == 200)
                let statuses = [
                    try await call(0, "POST", "/v1/rooms/d/comments", fan, #"{"text":"a"}"#).status,
                    try await call(1, "POST", "/v1/rooms/d/comments", moderator, #"{"text":"b"}"#).status,
                    try await call(0, "POST", "/v1/rooms/d/comments", troll, #"{"text":"c"}"#).status,
                ]
                #expect(statuses == [201, 201, 429], "one bucket for the room, whichever node takes the post")
                #expect(try await call(0, "DELETE", "/v1/rooms/c/bans/troll", moderator, "").status == 200)
                #expect(try await call(1, "POST", "/v1/rooms/c/comments", troll, #"{"text":"back"}"#).status == 201)
                // Styles kept for the room's staff, set on one node, hold on the other.
                #expect(try await call(0, "PUT", "/v1/rooms/s/settings", moderator, #"{"stylesFor":"staff"}"#).status == 200)
                #expect(try await call(1, "GET", "/v1/rooms/s/settings", fan, "").json["stylesFor"] as? String == "staff")
                #expect(try await call(1, "POST", "/v1/rooms/s/comments", fan, ##"{"text":"red","color":"#ff0000"}"##).errorCode == "style_not_allowed")
                #expect(try await call(1, "POST", "/v1/rooms/s/comments", fan, #"{"text":"plain"}"#).status == 201)
                #expect(try await call(0, "POST", "/v1/rooms/s/comments", moderator, #"{"text":"top","mode":"top"}"#).status == 201)
                // So does merged repeats; an update that leaves it out keeps it, a null gives the room
                // back to the nodes' default.
                #expect(try await call(0, "PUT", "/v1/rooms/m/settings", moderator, #"{"mergeRepeats":true}"#).status == 200)
                #expect(try await call(1, "GET", "/v1/rooms/m/settings", fan, "").json["mergeRepeats"] as? Bool == true)
                #expect(try await call(0, "PUT", "/v1/rooms/m/settings", moderator, #"{}"#).status == 200)
                #expect(try await call(1, "GET", "/v1/rooms/m/settings", fan, "").json["mergeRepeats"] as? Bool == true)
                #expect(try await call(0, "PATCH", "/v1/rooms/m/settings", moderator, #"{"mergeRepeats":null}"#).status == 200)
                #expect(try await call(1, "GET", "/v1/rooms/m/settings", fan, "").json["mergeRepeats"] == nil)
            }
        }

        @Test(arguments: [false, true]) func aRetractionReachesViewersOnPushNodesAndHistory(redisCluster: Bool) async throws {
            try await Cluster.with(api: 1, push: 1, redisCluster: redisCluster, extra: ["--jwt-secret", Self.secret]) { cluster in
                let (moderator, fan) = (try token("mod", "moderator"), try token("fan", "viewer"))
                let viewer = try await TestViewer.join(port: cluster.push[0].port, room: "x")
                func call(_ method: String, _ path: String, _ token: String, _ json: String = "") async throws -> HTTPReply {
                    try await httpRequest(
                        port: cluster.api[0].port, method: method, path: path,
                        headers: ["Content-Type": "application/json", "Authorization": "Bearer \(token)"], body: Array(json.utf8))
                }
                let posted = try await call("POST", "/v1/rooms/x/comments", fan, #"{"text":"take me back"}"#)
                _ = try await call("POST", "/v1/rooms/x/comments", fan, #"{"text":"stay"}"#)
                try await viewer.waitForComments(2)
                let id = try #require(posted.json["id"] as? String)
                #expect(try await call("DELETE", "/v1/rooms/x/comments/\(id)", moderator).status == 200)
                try await viewer.observed.wait(for: "retract") { $0.messages.contains { $0["type"] as? String == "retract" && $0["id"] as? String == id } }
                #expect(try await historySeqs(port: cluster.push[0].port, room: "x") == [2])
                await viewer.close()
            }
        }

        @Test(arguments: [false, true]) func likesAreCountedOnceAcrossNodesAndReachViewersOnPushNodes(redisCluster: Bool) async throws {
            try await Cluster.with(api: 2, push: 1, redisCluster: redisCluster, extra: ["--jwt-secret", Self.secret]) { cluster in
                let (ann, bob) = (try token("ann", "viewer"), try token("bob", "viewer"))
                let viewer = try await TestViewer.join(port: cluster.push[0].port, room: "lk")
                func call(_ node: Int, _ path: String, _ token: String, _ json: String) async throws -> HTTPReply {
                    try await httpRequest(
                        port: cluster.api[node].port, method: "POST", path: path,
                        headers: ["Content-Type": "application/json", "Authorization": "Bearer \(token)"], body: Array(json.utf8))
                }
                let id = try #require(try await call(0, "/v1/rooms/lk/comments", ann, #"{"text":"666"}"#).json["id"] as? String)
                try await viewer.waitForComments(1)
                #expect(try await call(0, "/v1/rooms/lk/comments/\(id)/likes", ann, #"{"seq":1}"#).json["likes"] as? Int == 1)
                #expect(try await call(1, "/v1/rooms/lk/comments/\(id)/likes", ann, #"{"seq":1}"#).json["likes"] as? Int == 1, "one user, two nodes")
                #expect(try await call(1, "/v1/rooms/lk/comments/\(id)/likes", bob, #"{"seq":1}"#).json["likes"] as? Int == 2)
                try await viewer.observed.wait(for: "likes") { state in
                    state.messages.contains { message in
                        (message["likes"] as? [[String: Any]])?.contains { $0["id"] as? String == id && $0["count"] as? Int == 2 } == true
                    }
                }
                await viewer.close()
            }
        }
    }
}

extension Sequence {
    /// Transforms all elements at once; results in the elements' order.
    func concurrentMap<T: Sendable>(_ transform: @escaping @Sendable (Element) async throws -> T) async throws -> [T] where Element: Sendable {
        try await withThrowingTaskGroup(of: (Int, T).self) { group in
            for (index, element) in enumerated() { group.addTask { (index, try await transform(element)) } }
            let results = try await group.reduce(into: [(Int, T)]()) { $0.append($1) }
            return results.sorted { $0.0 < $1.0 }.map(\.1)
        }
    }
}
