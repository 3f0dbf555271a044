import DanmakuCore
import DanmakuTestSupport
import Foundation
import Testing

/// History, replay, stats and socket joins cost the store real work: each client address has a
/// budget of them, and one client spending its own leaves everyone else served.
@Suite struct ReadBudgetTests {
    @Test func expensiveReadsAreBudgetedPerAddress() async throws {
        try await withServer({ $0.logic.readLimit = RateLimit(perSecond: 0.01, burst: 4) }) { _, port in
            let viewer = try await TestViewer.join(port: port, room: "calm")
            for path in ["/v1/rooms/r/comments", "/v1/rooms/r", "/v1/rooms?top=5", "/v1/rooms/r/replay"] {
                #expect(try await httpRequest(port: port, method: "GET", path: path).status != 429, "\(path)")
            }
            let spent = try await httpRequest(port: port, method: "GET", path: "/v1/rooms/r/comments")
            #expect(spent.status == 429 && spent.errorCode == "rate_limited", "\(spent)")
            #expect(spent.headers["retry-after"] != nil)
            #expect(try await httpRequest(port: port, method: "GET", path: "/healthz").status == 200, "cheap reads are not counted")
            // A join is a history read too: refused with an error message, the socket stays.
            try await viewer.sendText(#"{"type":"join","room":"other"}"#)
            try await viewer.observed.wait(for: "the refusal") { $0.messages.contains { $0["type"] as? String == "error" } }
            let error = viewer.observed.value.messages.first { $0["type"] as? String == "error" }
            #expect(error?["code"] as? String == "rate_limited")
            // Posting and watching are not reads: the viewer still gets a fresh comment.
            #expect(try await postComment(port: port, room: "calm", json: #"{"text":"still served"}"#).status == 201)
            try await viewer.waitForComments(1)
            #expect(!viewer.observed.value.closed)
            await viewer.close()
        }
    }
}
