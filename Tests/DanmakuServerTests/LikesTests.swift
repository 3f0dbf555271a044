import DanmakuAuth
import DanmakuTestSupport
import Foundation
import Testing

/// Likes over real sockets: counted once per user, the counts carried to viewers in one
/// `likes` frame per window, and every bad like refused with a code.
@Suite struct LikesTests {
    func bearer(_ user: String) async throws -> String {
        "Bearer " + (try await TokenIssuer.sign(
            DanmakuClaims(user: user, name: user, role: .viewer, expires: Date().addingTimeInterval(600)), secret: AuthTests.secret))
    }

    /// The `likes` entries viewers received, newest count per comment id.
    static func counts(_ state: TestViewer.State) -> [String: Int] {
        var counts: [String: Int] = [:]
        for message in state.messages where message["type"] as? String == "likes" {
            for like in message["likes"] as? [[String: Any]] ?? [] {
                if let id = like["id"] as? String, let count = like["count"] as? Int { counts[id] = max(counts[id] ?? 0, count) }
            }
        }
        return counts
    }

    @Test func eachUserCountsOnceAndViewersSeeTheCount() async throws {
        try await withServer({ $0.jwtSecret = AuthTests.secret }) { _, port in
            let viewer = try await TestViewer.join(port: port, room: "liked")
            let (ann, bob) = (try await bearer("ann"), try await bearer("bob"))
            let posted = try await jsonRequest(port: port, "POST", "/v1/rooms/liked/comments", authorization: ann, #"{"text":"666"}"#)
            let id = try #require(posted.json["id"] as? String)
            try await viewer.waitForComments(1)
            func like(as token: String?, id: String = id, _ json: String = #"{"seq":1}"#) async throws -> HTTPReply {
                try await jsonRequest(port: port, "POST", "/v1/rooms/liked/comments/\(id)/likes", authorization: token, json)
            }
            #expect(try await like(as: ann).json["likes"] as? Int == 1)
            #expect(try await like(as: ann).json["likes"] as? Int == 1, "a second like by the same user is not counted")
            let second = try await like(as: bob)
            #expect(second.status == 200 && second.json["likes"] as? Int == 2 && second.json["id"] as? String == id, "\(second)")
            try await viewer.observed.wait(for: "two likes") { Self.counts($0)[id] == 2 }

            // Refusals, each with its code.
            #expect(try await like(as: nil).errorCode == "missing_token")
            #expect(try await like(as: ann, #"{"seq":2}"#).errorCode == "not_found", "no comment has seq 2")
            #expect(try await like(as: ann, id: "not-that-one").errorCode == "not_found", "seq 1 is another comment")
            for body in [#"{"seq":0}"#, #"{"seq":-1}"#, #"{"seq":1.5}"#, #"{"seq":99999999999999999999999}"#, #"{}"#, "nonsense"] {
                let refused = try await like(as: ann, body)
                #expect(refused.status == 400 && refused.errorCode == "invalid_seq", "\(body): \(refused)")
            }
            await viewer.close()
        }
    }

    @Test func likesAreRateLimitedPerUser() async throws {
        try await withServer({ $0.jwtSecret = AuthTests.secret; $0.logic.likeLimit = .init(perSecond: 0.1, burst: 2) }) { _, port in
            let ann = try await bearer("ann")
            let posted = try await jsonRequest(port: port, "POST", "/v1/rooms/l2/comments", authorization: ann, #"{"text":"hi"}"#)
            let id = try #require(posted.json["id"] as? String)
            var statuses: [Int] = []
            for _ in 0..<3 {
                statuses.append(try await jsonRequest(port: port, "POST", "/v1/rooms/l2/comments/\(id)/likes", authorization: ann, #"{"seq":1}"#).status)
            }
            #expect(statuses == [200, 200, 429])
        }
    }
}
