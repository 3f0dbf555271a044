import DanmakuCore
import DanmakuTestSupport
import Foundation
import Testing

/// Every number a client sends, on every route that takes one, with values that are negative,
/// past `Int64.max` and `UInt64.max`, in exponent form, not numbers, empty and repeated: each is
/// answered `400 invalid_<name>` and the server keeps serving a viewer on the side.
@Suite struct NumericParameterTests {
    /// Values no numeric parameter accepts.
    static let refused = ["-1", "9223372036854775808", "18446744073709551616", "99999999999999999999999", "1e99", "abc", "", "1.5", "+1", " 1"]

    /// (path without the query, parameter, whether the route answers at once): a route that
    /// streams (`events`) is only tried with refused values.
    static let parameters: [(path: String, name: String, answers: Bool)] = [
        ("/v1/rooms/n/comments", "since", true), ("/v1/rooms/n/comments", "limit", true),
        ("/v1/rooms", "top", true),
        ("/v1/rooms/n/replay", "from", true), ("/v1/rooms/n/replay", "to", true),
        ("/v1/rooms/n/replay", "stream", true), ("/v1/rooms/n/replay", "limit", true),
        ("/v1/rooms/n/events", "since", false), ("/v1/rooms/n/events", "v", false),
    ]

    func percentEncoded(_ value: String) -> String {
        value.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? value
    }

    @Test func everyNumericQueryParameterIsCheckedBeforeUse() async throws {
        try await withServer { _, port in
            let viewer = try await TestViewer.join(port: port, room: "calm")
            var delivered = 0
            func stillServes(_ what: String) async throws {
                delivered += 1
                #expect(try await postComment(port: port, room: "calm", json: #"{"text":"alive \#(delivered)"}"#).status == 201, "after \(what)")
                try await viewer.waitForComments(delivered)
            }
            for (path, name, _) in Self.parameters {
                let queries = Self.refused.map { "\(name)=\(percentEncoded($0))" } + ["\(name)=1&\(name)=2"]
                for query in queries {
                    let reply = try await httpRequest(port: port, method: "GET", path: "\(path)?\(query)")
                    #expect(reply.status == 400 && reply.errorCode == "invalid_\(name)", "\(path)?\(query): \(reply)")
                    #expect((reply.json["error"] as? [String: Any])?["message"] as? String != nil)
                }
                try await stillServes("\(path) \(name)")
            }
            // The largest values that are in range are answered, not refused.
            for (path, query) in [
                ("/v1/rooms/n/comments", "since=\(ClientNumber.maxSeq)"), ("/v1/rooms/n/comments", "since=0&limit=1000"),
                ("/v1/rooms/n/replay", "from=0&to=3153600000000&stream=\(ClientNumber.maxSeq)&limit=5000"), ("/v1/rooms", "top=100"),
            ] {
                let reply = try await httpRequest(port: port, method: "GET", path: "\(path)?\(query)")
                #expect(reply.status != 400 && reply.status < 500, "\(path)?\(query): \(reply)")
            }
            try await stillServes("values in range")
            await viewer.close()
        }
    }

    @Test func headersAndSocketMessagesAreCheckedToo() async throws {
        try await withServer { _, port in
            let viewer = try await TestViewer.join(port: port, room: "calm")
            for value in Self.refused where !value.isEmpty && !value.hasPrefix(" ") {
                let reply = try await httpRequest(port: port, method: "GET", path: "/v1/rooms/n/events", headers: ["Last-Event-ID": value])
                #expect(reply.status == 400 && reply.errorCode == "invalid_since", "Last-Event-ID \(value): \(reply)")
                let upgrade = "GET /v1/rooms/n/ws?since=\(percentEncoded(value)) HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
                let refusedViewer = try await TestViewer.connect(port: port, request: upgrade)
                try await refusedViewer.observed.wait(for: "the answer") { $0.handshake != nil || $0.closed }
                #expect(refusedViewer.observed.value.handshake?.errorCode == "invalid_since", "upgrade since=\(value)")
                await refusedViewer.close()
            }
            // A join's since, as JSON numbers past every bound.
            for since in ["-1", "9223372036854775807", "18446744073709551616", "1e99", "\"7\""] {
                try await viewer.sendText(#"{"type":"join","room":"other","since":\#(since)}"#)
            }
            try await viewer.observed.wait(for: "five errors") { state in
                state.messages.filter { $0["type"] as? String == "error" }.count >= 5
            }
            let errors = viewer.observed.value.messages.filter { $0["type"] as? String == "error" }
            #expect(errors.allSatisfy { $0["code"] as? String == "invalid_since" }, "\(errors)")
            // The connection still works: a join in range succeeds and comments arrive.
            try await viewer.sendText(#"{"type":"join","room":"other","since":0}"#)
            #expect(try await postComment(port: port, room: "other", json: #"{"text":"joined"}"#).status == 201)
            try await viewer.waitForComments(1)
            #expect(!viewer.observed.value.closed)
            await viewer.close()
        }
    }
}
