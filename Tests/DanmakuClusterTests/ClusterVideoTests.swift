import DanmakuTestSupport
import Foundation
import Testing

extension DistributedModeTests {
    /// Video pools in cluster mode: kept in Redis, so a comment posted on one node is in the
    /// segment another serves, a like counts once across nodes, and a stream recorded in Redis
    /// publishes as a pool.
    @Suite struct ClusterVideoTests {
        let tokens = ClusterModerationTests()

        @Test(arguments: [false, true]) func aPoolIsTheSameFromEveryNode(redisCluster: Bool) async throws {
            try await Cluster.with(api: 2, push: 0, redisCluster: redisCluster, extra: ["--jwt-secret", ClusterModerationTests.secret]) { cluster in
                let (moderator, fan, other) = (try tokens.token("mod", "moderator"), try tokens.token("fan", "viewer"), try tokens.token("other", "viewer"))
                let (a, b) = (cluster.api[0].port, cluster.api[1].port)
                #expect(try await tokens.call(a, "POST", "/v1/rooms/cv/live", moderator).status == 200)
                for index in 0..<10 {
                    #expect(try await tokens.call(index % 2 == 0 ? a : b, "POST", "/v1/rooms/cv/comments", fan, #"{"text":"r \#(index)"}"#).status == 201)
                }
                #expect(try await tokens.call(b, "DELETE", "/v1/rooms/cv/live", moderator).status == 200)
                let published = try await tokens.call(a, "POST", "/v1/videos/cv-vod/publish", moderator, #"{"room":"cv"}"#)
                #expect(published.status == 200 && published.json["added"] as? Int == 10, "\(published)")

                let posted = try await tokens.call(b, "POST", "/v1/videos/cv-vod/comments", other, #"{"text":"on b","offsetMs":361000}"#)
                #expect(posted.status == 201 && posted.json["seq"] as? Int == 11, "\(posted)")
                let id = try #require(posted.json["id"] as? String)
                #expect(try await tokens.call(a, "POST", "/v1/videos/cv-vod/comments/\(id)/likes", fan).json["likes"] as? Int == 1)
                #expect(try await tokens.call(b, "POST", "/v1/videos/cv-vod/comments/\(id)/likes", fan).json["likes"] as? Int == 1, "once across nodes")
                #expect(try await tokens.call(b, "POST", "/v1/videos/cv-vod/comments/\(id)/likes", other).json["likes"] as? Int == 2)

                let first = try await httpRequest(port: a, method: "GET", path: "/v1/videos/cv-vod/segments/0")
                let texts = (first.json["comments"] as? [[String: Any]] ?? []).compactMap { $0["text"] as? String }
                #expect(texts == (0..<10).map { "r \($0)" }, "in offset order")
                let second = try await httpRequest(port: a, method: "GET", path: "/v1/videos/cv-vod/segments/1")
                let onB = (second.json["comments"] as? [[String: Any]] ?? []).first
                #expect(onB?["text"] as? String == "on b" && onB?["likes"] as? Int == 2 && onB?["offsetMs"] as? Int == 361000)
                // The same segment from either node has the same tag.
                let tag = try #require(second.headers["etag"])
                #expect(try await httpRequest(port: b, method: "GET", path: "/v1/videos/cv-vod/segments/1", headers: ["If-None-Match": tag]).status == 304)

                #expect(try await tokens.call(a, "DELETE", "/v1/videos/cv-vod/comments/\(id)", moderator).status == 200)
                let emptied = try await httpRequest(port: b, method: "GET", path: "/v1/videos/cv-vod/segments/1")
                #expect((emptied.json["comments"] as? [Any])?.isEmpty == true, "\(emptied)")
            }
        }
    }
}
