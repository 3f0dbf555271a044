import DanmakuIngest
import NIOCore
import NIOEmbedded
import PropertyBased
import Testing

/// Random request sequences, pipelined and cut at random points, on the server's own connection
/// pipeline: every request is answered, in order, with an answer its kind allows, until an answer
/// ends the connection's HTTP (an event stream, a WebSocket upgrade, an error that closes); the
/// process never traps.
@Suite struct ConnectionPropertyTests {
    /// Requests of every kind the pipeline treats differently.
    enum Request: CaseIterable, Sendable {
        case health, metrics, settings, refusedSettingsChange, history, post, malformedPost, oversizedBody, unknown
        case events, upgrade, http10, garbage, headTooLarge, connect, postAskingToUpgrade

        var bytes: String {
            switch self {
            case .health: Self.get("/healthz")
            case .metrics: Self.get("/metrics")
            case .settings: Self.get("/v1/rooms/a/settings")
            case .refusedSettingsChange: Self.body("PUT", "/v1/rooms/a/settings", #"{"rate":"1e-20/1"}"#)
            case .history: Self.get("/v1/rooms/a/comments?since=0")
            case .post: Self.body("POST", "/v1/rooms/a/comments", #"{"text":"hi"}"#)
            case .malformedPost: Self.body("POST", "/v1/rooms/a/comments", #"{"text":"#)
            case .oversizedBody: "POST /v1/rooms/a/comments HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"
            case .unknown: Self.get("/nowhere")
            case .events: Self.get("/v1/rooms/a/events")
            case .upgrade: Self.get("/v1/rooms/a/ws", "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n")
            case .http10: "GET /healthz HTTP/1.0\r\n\r\n"
            case .garbage: "\u{1}\u{2} not http\r\n\r\n"
            case .headTooLarge: Self.get("/healthz", "X-Padding: \(String(repeating: "p", count: 20_000))\r\n")
            case .connect: "CONNECT a:1 HTTP/1.1\r\nHost: a\r\n\r\n"
            case .postAskingToUpgrade:
                "POST /v1/rooms/a/comments HTTP/1.1\r\nHost: x\r\nUpgrade: foo\r\nConnection: upgrade\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n{\"text\":\"hi\"}"
            }
        }

        /// Whether `answer` is one this request may get.
        func allows(_ answer: WireAnswer, first: Bool) -> Bool {
            switch self {
            case .health, .metrics, .settings, .history: answer.status == 200
            case .refusedSettingsChange: answer.status == 401 || answer.status == 403
            case .post: [201, 409, 429].contains(answer.status)
            case .malformedPost: answer.status == 400
            case .oversizedBody: answer.status == 413 && answer.closes
            case .unknown: answer.status == 404
            case .events: answer.status == 200 && answer.isEventStream
            // An upgrade is taken only as a connection's first request; later it is refused.
            case .upgrade: first ? answer.status == 101 : (answer.status >= 400 && answer.closes)
            case .http10: answer.status == 200 && answer.closes
            case .garbage: answer.status == 400 && answer.closes
            case .headTooLarge: answer.status == 431 && answer.closes
            // Both end what NIO's parser reads of the connection.
            case .connect: answer.status >= 400 && answer.closes
            case .postAskingToUpgrade: [201, 409, 429].contains(answer.status) && answer.closes
            }
        }

        static func get(_ path: String, _ extra: String = "") -> String { "GET \(path) HTTP/1.1\r\nHost: x\r\n\(extra)\r\n" }

        static func body(_ method: String, _ path: String, _ body: String) -> String {
            "\(method) \(path) HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
        }
    }

    @Test func everyRequestIsAnsweredInOrderUntilTheConnectionStopsBeingHTTP() async {
        let harness = ConnectionHarness()
        await propertyCheck(count: 200, input: Gen<Request>.case.array(of: 1...8), Gen.int(in: 1...97).array(of: 1...6)) { requests, cuts in
            do {
                let channel = try await harness.connect()
                let bytes = Array(requests.map(\.bytes).joined().utf8)
                // The byte stream, cut where the generator says (and the rest in one piece).
                var offset = 0
                // (An error that reaches the pipeline's end, such as bytes after a refused request,
                // is thrown by the testing channel; a server drops it.)
                for cut in cuts where offset < bytes.count {
                    let end = min(bytes.count, offset + cut)
                    _ = try? await channel.writeInbound(ByteBuffer(bytes: bytes[offset..<end]))
                    offset = end
                }
                if offset < bytes.count { _ = try? await channel.writeInbound(ByteBuffer(bytes: bytes[offset...])) }
                // Generous: the wait ends as soon as the answers are all in. An answer made off the loop
                // waits for the concurrency pool, which other suites of a parallel run may hold for
                // seconds (a CI run once waited past 3 s for a settings read).
                let output = try await ConnectionHarness.output(of: channel) { output in
                    let answers = WireAnswer.all(in: output)
                    return answers.count == requests.count || answers.last.map { $0.closes || $0.status == 101 || $0.isEventStream } == true
                }
                let answers = WireAnswer.all(in: output)
                #expect(answers.count <= requests.count, "\(requests): more answers than requests")
                for (index, answer) in answers.enumerated() {
                    #expect(requests[index].allows(answer, first: index == 0), "\(requests): answer \(index) is \(answer.status)")
                }
                if answers.count < requests.count {
                    let last = answers.last
                    #expect(
                        last.map { $0.closes || $0.status == 101 || $0.isEventStream } == true,
                        "\(requests): \(answers.count) answers, and the last neither ends the connection nor changes its protocol")
                }
                _ = try? await channel.close()
            } catch {
                Issue.record("\(requests): \(error)")
            }
        }
    }
}
