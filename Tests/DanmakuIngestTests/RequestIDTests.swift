import DanmakuIngest
import Foundation
import NIOCore
import Testing

/// Every answer names its request (`X-Request-Id`, taken from the client or made), and an error
/// body carries it as `requestId`, so a refused request can be followed to its log line.
@Suite struct RequestIDTests {
    func answers(_ requests: String) async throws -> [WireAnswer] {
        let harness = ConnectionHarness()
        let channel = try await harness.connect()
        try await channel.writeInbound(ByteBuffer(string: requests))
        let count = requests.components(separatedBy: "\r\n\r\n").count - 1
        return WireAnswer.all(in: try await ConnectionHarness.output(of: channel) { WireAnswer.all(in: $0).count >= count })
    }

    @Test func aGivenIDIsAnsweredAndAnErrorBodyCarriesIt() async throws {
        let answers = try await answers(
            "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Request-Id: lb-42\r\n\r\nGET /nowhere HTTP/1.1\r\nHost: x\r\nX-Request-Id: lb-43\r\n\r\n")
        #expect(answers.map { $0.headers["x-request-id"] } == ["lb-42", "lb-43"])
        let body = try #require(try JSONSerialization.jsonObject(with: Data(answers[1].body)) as? [String: Any])
        #expect((body["error"] as? [String: Any])?["requestId"] as? String == "lb-43")
    }

    @Test func withoutOneEachRequestGetsItsOwn() async throws {
        let health = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
        let ids = try await answers(health + health).compactMap { $0.headers["x-request-id"] }
        #expect(ids.count == 2 && Set(ids).count == 2 && ids.allSatisfy { !$0.isEmpty })
    }

    @Test func anIDThatIsTooLongOrNotVisibleASCIIIsReplaced() async throws {
        let long = String(repeating: "a", count: RequestHeaders.maxRequestIDBytes + 1)
        let answers = try await answers(
            "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Request-Id: \(long)\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\nX-Request-Id: a b\r\n\r\n")
        #expect(answers.count == 2)
        #expect(answers.allSatisfy { $0.headers["x-request-id"].map { $0 != long && $0 != "a b" && !$0.isEmpty } == true })
    }

    @Test func anEventStreamCarriesItsRequestsID() async throws {
        let harness = ConnectionHarness()
        let channel = try await harness.connect()
        try await channel.writeInbound(ByteBuffer(string: "GET /v1/rooms/a/events HTTP/1.1\r\nHost: x\r\nX-Request-Id: sse-1\r\n\r\n"))
        let answers = WireAnswer.all(in: try await ConnectionHarness.output(of: channel) { WireAnswer.all(in: $0).count >= 1 })
        #expect(answers.first?.isEventStream == true && answers.first?.headers["x-request-id"] == "sse-1")
        _ = try? await channel.close()
    }
}
