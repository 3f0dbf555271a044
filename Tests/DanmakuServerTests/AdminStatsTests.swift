import DanmakuAuth
import DanmakuTestSupport
import Foundation
import Testing

/// `GET /v1/admin/stats`, what the dashboard at `/admin` draws: admins only, the node's metrics as
/// numbers, the busiest rooms with their settings, and the nodes with their viewers.
@Suite struct AdminStatsTests {
    func bearer(_ user: String, _ role: PosterRole, rooms: [String]? = nil) async throws -> String {
        "Bearer " + (try await TokenIssuer.sign(
            DanmakuClaims(user: user, name: user, role: role, expires: Date().addingTimeInterval(600), rooms: rooms), secret: AuthTests.secret))
    }

    @Test func adminsGetTheFiguresOthersAreRefused() async throws {
        try await withServer({
            $0.jwtSecret = AuthTests.secret
            $0.push.nodeName = "node-a"
            $0.presenceInterval = .milliseconds(100)
        }) { _, port in
            let admin = try await bearer("root", .admin)
            let viewer = try await TestViewer.join(port: port, room: "busy")
            let poster = try await bearer("fan", .viewer)
            #expect(try await jsonRequest(port: port, "POST", "/v1/rooms/busy/comments", authorization: poster, #"{"text":"hi"}"#).status == 201)
            #expect(try await jsonRequest(port: port, "PUT", "/v1/rooms/busy/settings", authorization: admin, #"{"slowModeSeconds":5}"#).status == 200)
            try await viewer.waitForComments(1)

            let refused = try await jsonRequest(port: port, "GET", "/v1/admin/stats", authorization: poster, "")
            #expect(refused.status == 403 && refused.errorCode == "forbidden")
            let scoped = try await jsonRequest(port: port, "GET", "/v1/admin/stats", authorization: try await bearer("m", .moderator, rooms: ["busy"]), "")
            #expect(scoped.status == 403, "a moderator of one room does not see the node")
            #expect(try await jsonRequest(port: port, "GET", "/v1/admin/stats", authorization: nil, "").status == 401)

            try await eventually("the room is counted") {
                let stats = try await jsonRequest(port: port, "GET", "/v1/admin/stats", authorization: admin, "")
                return (stats.json["rooms"] as? [[String: Any]])?.first?["online"] as? Int == 1
            }
            let stats = try await jsonRequest(port: port, "GET", "/v1/admin/stats", authorization: admin, "")
            #expect(stats.status == 200)
            #expect(stats.json["node"] as? String == "node-a")
            let metrics = try #require(stats.json["metrics"] as? [String: Double])
            #expect(metrics["danmaku_comments_accepted_total"] == 1)
            #expect(metrics["danmaku_viewers"] == 1)
            #expect(metrics[#"danmaku_batch_window_seconds{loop="0"}"#] != nil)
            #expect(!metrics.keys.contains { $0.contains("_bucket") }, "histogram buckets are left out")
            let room = try #require((stats.json["rooms"] as? [[String: Any]])?.first)
            #expect(room["room"] as? String == "busy" && room["lastSeq"] as? Int == 1 && room["slowModeSeconds"] as? Int == 5)
            let nodes = try #require(stats.json["nodes"] as? [[String: Any]])
            #expect(nodes.count == 1 && nodes[0]["node"] as? String == "node-a" && nodes[0]["viewers"] as? Int == 1)
            await viewer.close()
        }
    }

    @Test func sinceGivesTheFiguresOfTheLastMinutesOneASecond() async throws {
        try await withServer({ $0.jwtSecret = AuthTests.secret }) { _, port in
            let admin = try await bearer("root", .admin)
            #expect(try await jsonRequest(port: port, "GET", "/v1/admin/stats", authorization: admin, "").json["history"] == nil, "only when asked")
            try await eventually("three seconds recorded") {
                let stats = try await jsonRequest(port: port, "GET", "/v1/admin/stats?since=0", authorization: admin, "")
                return (stats.json["history"] as? [[String: Any]])?.count ?? 0 >= 3
            }
            let stats = try await jsonRequest(port: port, "GET", "/v1/admin/stats?since=0", authorization: admin, "")
            let history = try #require(stats.json["history"] as? [[String: Any]])
            let times = history.compactMap { ($0["at"] as? NSNumber)?.int64Value }
            #expect(times.count == history.count && times == times.sorted(), "oldest first")
            // About one a second: a machine busy with builds beside the tests has woken the
            // recorder over a second late (never twice in one second).
            #expect(zip(times, times.dropFirst()).allSatisfy { (500...2500).contains($1 - $0) }, "one a second: \(times)")
            let metrics = try #require(history.last?["metrics"] as? [String: Double])
            #expect(metrics["danmaku_comments_accepted_total"] != nil && metrics[#"danmaku_batch_window_seconds{loop="0"}"#] != nil)
            #expect(!metrics.keys.contains { $0.hasPrefix("danmaku_connections") }, "only the charted series are kept")
            // Only what is newer than `since`.
            let later = try await jsonRequest(port: port, "GET", "/v1/admin/stats?since=\(times[times.count - 2])", authorization: admin, "")
            #expect((later.json["history"] as? [[String: Any]])?.compactMap { ($0["at"] as? NSNumber)?.int64Value }.first == times.last)
            for bad in ["-1", "x", "1e3", "99999999999999999999"] {
                let refused = try await jsonRequest(port: port, "GET", "/v1/admin/stats?since=\(bad)", authorization: admin, "")
                #expect(refused.status == 400 && refused.errorCode == "invalid_since", "\(bad): \(refused)")
            }
        }
    }

    @Test func thePageAndItsScriptAreServedWithTheViewerPagesHeaders() async throws {
        try await withServer { _, port in
            let page = try await httpRequest(port: port, method: "GET", path: "/admin")
            #expect(page.status == 200 && page.headers["content-type"]?.hasPrefix("text/html") == true)
            #expect(page.headers["content-security-policy"]?.contains("default-src 'none'") == true)
            #expect(String(decoding: page.body, as: UTF8.self).contains(#"<script src="/admin.js">"#))
            let script = try await httpRequest(port: port, method: "GET", path: "/admin.js")
            #expect(script.status == 200 && script.headers["content-type"]?.hasPrefix("text/javascript") == true)
            #expect(String(decoding: script.body, as: UTF8.self).contains("/v1/admin/stats"))
            // Open mode: nobody can prove they are an admin.
            let stats = try await httpRequest(port: port, method: "GET", path: "/v1/admin/stats")
            #expect(stats.status == 403)
        }
    }
}
