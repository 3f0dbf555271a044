import DanmakuCore
import DanmakuLogic
import Foundation
import NIOCore
import Testing

/// Every bad HTTP input gets its documented status and error code, as JSON, from the connection's
/// own pipeline (`ConnectionPipeline`) on an in-process channel: what is tested is the HTTP layer,
/// not sockets. (`BadInputTests` in DanmakuServerTests checks over real sockets that a server
/// attacked this way keeps serving its viewers.)
@Suite struct HTTPErrorCodeTests {
    static func request(_ method: String, _ path: String, headers: [String: String] = [:], body: [UInt8] = []) -> [UInt8] {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: test\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        if !body.isEmpty || method == "POST" { head += "Content-Length: \(body.count)\r\n" }
        return Array((head + "\r\n").utf8) + body
    }

    static func post(_ room: String, _ json: String, contentType: String = "application/json") -> [UInt8] {
        request("POST", "/v1/rooms/\(room)/comments", headers: ["Content-Type": contentType], body: Array(json.utf8))
    }

    static func quoted(_ text: String) -> String {
        String(decoding: try! JSONEncoder().encode(text), as: UTF8.self)
    }

    static let cases: [(name: String, request: [UInt8], status: Int, code: String)] = [
        ("malformed JSON", post("r", #"{"text": "#), 400, "invalid_json"),
        ("not an object", post("r", "[]"), 400, "invalid_json"),
        ("wrong type", post("r", #"{"text": 12}"#), 400, "invalid_text"),
        ("missing text", post("r", "{}"), 400, "invalid_text"),
        ("bad color", post("r", #"{"text":"a","color":"red"}"#), 400, "invalid_color"),
        ("bad mode", post("r", #"{"text":"a","mode":"spin"}"#), 400, "invalid_mode"),
        ("empty text", post("r", #"{"text":"   "}"#), 400, "invalid_text"),
        ("control characters", post("r", #"{"text":"a\u0000b"}"#), 400, "invalid_text"),
        ("text too long", post("r", "{\"text\":\"\(String(repeating: "x", count: 201))\"}"), 413, "text_too_long"),
        ("oversized body", post("r", "{\"text\":\"\(String(repeating: "x", count: 5000))\"}"), 413, "body_too_large"),
        ("invalid UTF-8", request(
            "POST", "/v1/rooms/r/comments", headers: ["Content-Type": "application/json"],
            body: Array(#"{"text":""#.utf8) + [0xC3, 0x28] + Array(#""}"#.utf8)), 400, "invalid_json"),
        ("invalid room id", post("bad%20room", #"{"text":"a"}"#), 400, "invalid_room"),
        ("too long room id", post(String(repeating: "r", count: 65), #"{"text":"a"}"#), 400, "invalid_room"),
        ("filtered word", post("r", #"{"text":"so ＦＯＲＢＩＤＤＥＮ"}"#), 422, "filtered"),
        ("wrong content type", post("r", #"{"text":"a"}"#, contentType: "text/plain"), 415, "unsupported_media_type"),
        ("unknown path", request("GET", "/v2/nothing"), 404, "not_found"),
        ("wrong method", request("DELETE", "/v1/rooms/r/comments"), 405, "method_not_allowed"),
        ("bad since", request("GET", "/v1/rooms/r/comments?since=-1"), 400, "invalid_since"),
        ("bad limit", request("GET", "/v1/rooms/r/comments?limit=0"), 400, "invalid_limit"),
        ("deeply nested JSON", post("r", String(repeating: "[", count: 2000) + String(repeating: "]", count: 2000)), 400, "invalid_json"),
        ("blocked word hidden by zero-width and bidi characters", post("r", "{\"text\":\(quoted("f\u{200B}or\u{202E}bid\u{2066}den!"))}"), 422, "filtered"),
        ("blocked word spelled with combining marks", post("r", "{\"text\":\(quoted("fo\u{0301}rbi\u{0308}dden"))}"), 422, "filtered"),
        ("headers over the head-size limit", request("GET", "/healthz", headers: ["X-Big": String(repeating: "a", count: 20_000)]), 431, "headers_too_large"),
        ("plain GET on the socket path", request("GET", "/v1/rooms/r/ws"), 426, "upgrade_required"),
        ("malformed request line", Array("GARBAGE\r\n\r\n".utf8), 400, "malformed_request"),
        ("unknown HTTP version", Array("GET / HTTP/9.9\r\n\r\n".utf8), 400, "malformed_request"),
        ("binary garbage", Array("\u{0}\u{1}\u{2}\r\n\r\n".utf8), 400, "malformed_request"),
    ]

    @Test func everyBadRequestGetsItsStatusAndCodeAsJSONAndNothingIsStored() async throws {
        var logic = LogicConfiguration()
        logic.words = ["forbidden"]
        let harness = ConnectionHarness(logic: logic)
        for (name, request, status, code) in Self.cases {
            let channel = try await harness.connect()
            try await channel.writeInbound(ByteBuffer(bytes: request))
            let answers = WireAnswer.all(in: try await ConnectionHarness.output(of: channel) { !WireAnswer.all(in: $0).isEmpty })
            let answer = try #require(answers.first, "\(name): no answer")
            #expect(answer.status == status, "\(name)")
            let error = (try? JSONSerialization.jsonObject(with: Data(answer.body))) as? [String: Any]
            #expect((error?["error"] as? [String: Any])?["code"] as? String == code, "\(name): \(String(decoding: answer.body, as: UTF8.self))")
            #expect(answer.headers["content-type"]?.hasPrefix("application/json") == true, "\(name)")
            if code == "malformed_request" { #expect(answer.closes, "\(name): a request that cannot be framed closes the connection") }
            _ = try? await channel.close()
        }
        // None of the refused comments was stored.
        let channel = try await harness.connect()
        try await channel.writeInbound(ByteBuffer(bytes: Self.request("GET", "/v1/rooms/r/comments?since=0")))
        let history = try #require(WireAnswer.all(in: try await ConnectionHarness.output(of: channel) { !WireAnswer.all(in: $0).isEmpty }).first)
        let json = (try? JSONSerialization.jsonObject(with: Data(history.body))) as? [String: Any]
        #expect(json?["lastSeq"] as? Int == 0)
    }
}
