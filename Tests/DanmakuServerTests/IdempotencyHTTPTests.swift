import DanmakuTestSupport
import Foundation
import Testing

/// `Idempotency-Key` through a real server: a retried post gets the first answer byte for byte
/// and history holds it once; a malformed key is refused before anything is posted.
@Suite struct IdempotencyHTTPTests {
    func post(_ port: Int, _ path: String, key: String?, _ json: String) async throws -> HTTPReply {
        var headers = ["Content-Type": "application/json"]
        if let key { headers["Idempotency-Key"] = key }
        return try await httpRequest(port: port, method: "POST", path: path, headers: headers, body: Array(json.utf8))
    }

    @Test func aRetriedPostGetsTheFirstAnswerAndIsStoredOnce() async throws {
        try await withServer { _, port in
            let first = try await post(port, "/v1/rooms/idem/comments", key: "post-1", #"{"text":"once only"}"#)
            #expect(first.status == 201, "\(first)")
            let retry = try await post(port, "/v1/rooms/idem/comments", key: "post-1", #"{"text":"once only"}"#)
            #expect(retry.status == 201 && retry.body == first.body, "\(retry)")
            let history = try await httpRequest(port: port, method: "GET", path: "/v1/rooms/idem/comments?since=0")
            #expect((history.json["comments"] as? [Any])?.count == 1, "\(history)")

            let video = try await post(port, "/v1/videos/vid/comments", key: "post-1", #"{"text":"at 1s","offsetMs":1000}"#)
            #expect(video.status == 201, "\(video)")
            let videoRetry = try await post(port, "/v1/videos/vid/comments", key: "post-1", #"{"text":"at 1s","offsetMs":1000}"#)
            #expect(videoRetry.status == 201 && videoRetry.body == video.body, "\(videoRetry)")

            let bad = try await post(port, "/v1/rooms/idem/comments", key: String(repeating: "k", count: 129), #"{"text":"never"}"#)
            #expect(bad.status == 400 && bad.errorCode == "invalid_idempotency_key", "\(bad)")
            let after = try await httpRequest(port: port, method: "GET", path: "/v1/rooms/idem/comments?since=0")
            #expect((after.json["comments"] as? [Any])?.count == 1, "\(after)")
        }
    }
}
