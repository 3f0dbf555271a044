import DanmakuTestSupport
import Foundation
import Testing

extension DistributedModeTests {
    /// `--bus-min-replicas`: a comment is answered 201 only once that many replicas hold it.
    @Suite(.serialized) struct ReplicaConfirmationTests {
        @Test func withoutEnoughReplicasAPostIsRefusedAndTakenBackThenAcceptedOnceAReplicaJoins() async throws {
            try await Cluster.with(api: 1, push: 1, extra: ["--bus-min-replicas", "1", "--bus-replica-timeout-ms", "2000"]) { cluster in
                let redis = try #require(cluster.redis)
                let viewer = try await TestViewer.join(port: cluster.push[0].port, room: "w")
                // Not ready while Redis has no replica in sync: a load balancer sends no posts yet.
                try await eventually("the replicas checked") {
                    try await httpRequest(port: cluster.api[0].port, method: "GET", path: "/readyz").description.contains("waiting for Redis replicas in sync")
                }
                let notReady = try await httpRequest(port: cluster.api[0].port, method: "GET", path: "/readyz")
                #expect(notReady.status == 503 && notReady.errorCode == "not_ready", "\(notReady)")
                #expect(try await httpRequest(port: cluster.push[0].port, method: "GET", path: "/readyz").status == 200, "viewers need no replicas")
                for index in 0..<3 {
                    let reply = try await postComment(port: cluster.api[0].port, room: "w", json: #"{"text":"unconfirmed \#(index)"}"#)
                    #expect(reply.status == 503 && reply.errorCode == "bus_unavailable", "\(reply)")
                }
                #expect(try await historySeqs(port: cluster.api[0].port, room: "w").isEmpty, "a refused comment stays out of history")

                // A replica joins: comments are confirmed and accepted, and the refused ones' seqs do
                // not hold the room's order back.
                try await RedisServer.with(extraArguments: ["--replicaof", "127.0.0.1", String(redis.port)]) { _ in
                    // The first post once the node says it is ready is accepted.
                    try await eventually("the node ready", timeout: .seconds(20)) {
                        try await httpRequest(port: cluster.api[0].port, method: "GET", path: "/readyz").status == 200
                    }
                    let reply = try await postComment(port: cluster.api[0].port, room: "w", json: #"{"text":"confirmed"}"#)
                    #expect(reply.status == 201, "\(reply)")
                    let seq = try #require((reply.json["seq"] as? NSNumber)?.uint64Value)
                    try await viewer.observed.wait(for: "the accepted comment") { $0.seqs.contains(seq) || $0.closed }
                    // A refused comment a push node read from the stream before it was deleted again
                    // reaches the viewer, and then its retraction, which takes it off the screen.
                    let state = viewer.observed.value
                    let retracted = Set(state.messages.compactMap { $0["type"] as? String == "retract" ? ($0["seq"] as? NSNumber)?.uint64Value : nil })
                    for shown in state.seqs where shown != seq {
                        try await viewer.observed.wait(for: "the retraction of \(shown)") { state in
                            state.messages.contains { $0["type"] as? String == "retract" && ($0["seq"] as? NSNumber)?.uint64Value == shown }
                        }
                    }
                    #expect(!retracted.contains(seq), "the accepted comment stays")
                    #expect(try await historySeqs(port: cluster.api[0].port, room: "w") == [seq])
                }
                // The replica gone again: the node stays ready (only posts are refused, as when a
                // master of a Redis Cluster is down and the other masters' rooms still work).
                try await Task.sleep(for: .milliseconds(700))
                #expect(try await httpRequest(port: cluster.api[0].port, method: "GET", path: "/readyz").status == 200)
                await viewer.close()
            }
        }
    }
}
