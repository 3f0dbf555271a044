import DanmakuTestSupport
import Foundation
import Testing

/// A socket comment's `idempotencyKey` through a real server: a retry, on the same socket or a
/// new one, is acked with the first post's id and seq and stored once, the key is shared with
/// HTTP posts of the same principal, and a malformed key is refused before anything is posted.
@Suite struct IdempotencySocketTests {
    /// The `ack` and `error` messages a viewer received, in order.
    func answers(_ viewer: TestViewer) -> [[String: Any]] {
        viewer.observed.value.messages.filter { ["ack", "error"].contains($0["type"] as? String) }
    }

    func waitForAnswers(_ viewer: TestViewer, _ count: Int) async throws -> [[String: Any]] {
        try await viewer.observed.wait(for: "\(count) answers") { state in
            state.messages.filter { ["ack", "error"].contains($0["type"] as? String) }.count >= count
        }
        return answers(viewer)
    }

    func storedCount(_ port: Int, _ room: String) async throws -> Int? {
        let history = try await httpRequest(port: port, method: "GET", path: "/v1/rooms/\(room)/comments?since=0")
        return (history.json["comments"] as? [Any])?.count
    }

    @Test func aRetriedSocketPostIsAckedAsTheFirstAndStoredOnce() async throws {
        try await withServer { _, port in
            let viewer = try await TestViewer.join(port: port, room: "idem")
            // One after the other: a retry sent while the first has no answer yet is refused
            // `idempotency_in_progress`, as over HTTP.
            try await viewer.sendText(#"{"type":"comment","text":"once only","idempotencyKey":"sock-1"}"#)
            _ = try await waitForAnswers(viewer, 1)
            try await viewer.sendText(#"{"type":"comment","text":"once only","idempotencyKey":"sock-1"}"#)
            let acks = try await waitForAnswers(viewer, 2)
            #expect(acks.allSatisfy { $0["type"] as? String == "ack" }, "\(acks)")
            let first = try #require(acks.first)
            #expect(first["seq"] as? Int == 1)
            #expect(acks[1]["seq"] as? Int == 1 && acks[1]["id"] as? String == first["id"] as? String, "\(acks)")

            // The retry of a client that lost its connection comes on a new socket.
            await viewer.close()
            let reconnected = try await TestViewer.join(port: port, room: "idem")
            try await reconnected.sendText(#"{"type":"comment","text":"once only","idempotencyKey":"sock-1"}"#)
            let retry = try #require(try await waitForAnswers(reconnected, 1).first)
            #expect(retry["type"] as? String == "ack" && retry["seq"] as? Int == 1 && retry["id"] as? String == first["id"] as? String, "\(retry)")

            // The key is the principal's, whichever way it posts: an HTTP retry gets the same receipt.
            let http = try await httpRequest(
                port: port, method: "POST", path: "/v1/rooms/idem/comments",
                headers: ["Content-Type": "application/json", "Idempotency-Key": "sock-1"], body: Array(#"{"text":"once only"}"#.utf8))
            #expect(http.status == 201 && http.json["seq"] as? Int == 1 && http.json["id"] as? String == first["id"] as? String, "\(http)")

            // Without a key, the same text is a new post.
            try await reconnected.sendText(#"{"type":"comment","text":"once only"}"#)
            let fresh = try await waitForAnswers(reconnected, 2)[1]
            #expect(fresh["type"] as? String == "ack" && fresh["seq"] as? Int == 2, "\(fresh)")
            #expect(try await storedCount(port, "idem") == 2)
            await reconnected.close()
        }
    }

    @Test func aMalformedKeyIsRefusedAndNothingIsPosted() async throws {
        try await withServer { _, port in
            let viewer = try await TestViewer.join(port: port, room: "idem")
            let long = String(repeating: "k", count: 129)
            for message in [
                #"{"type":"comment","text":"never","idempotencyKey":"\#(long)"}"#,
                #"{"type":"comment","text":"never","idempotencyKey":""}"#,
                #"{"type":"comment","text":"never","idempotencyKey":"has space"}"#,
                #"{"type":"comment","text":"never","idempotencyKey":7}"#,
            ] {
                try await viewer.sendText(message)
            }
            let refusals = try await waitForAnswers(viewer, 4)
            #expect(refusals.map { $0["code"] as? String } == Array(repeating: "invalid_idempotency_key", count: 4), "\(refusals)")
            // The socket stays open and takes a good key after.
            try await viewer.sendText(#"{"type":"comment","text":"fine","idempotencyKey":"ok-1"}"#)
            let ack = try await waitForAnswers(viewer, 5)[4]
            #expect(ack["type"] as? String == "ack" && ack["seq"] as? Int == 1, "\(ack)")
            #expect(try await storedCount(port, "idem") == 1)
            await viewer.close()
        }
    }
}
