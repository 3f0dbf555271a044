import DanmakuTestSupport
import Foundation
import Testing

/// `--otel-endpoint`: a comment's path as spans, exported over OTLP/HTTP to a collector (here a
/// recorder in the test), continuing the client's `traceparent`.
@Suite struct TraceExportTests {
    /// A span as the OTLP/HTTP JSON export carries it; ids as hex.
    struct ExportedSpan {
        var name: String
        var traceID: String
        var spanID: String
        var parentID: String
        var attributes: [String: String]
    }

    @Test func aCommentsPathIsOneTraceFromTheClientsSpanToItsBatch() async throws {
        let collector = try await OTLPReceiver.start()
        let node = try await DanmakuNode.start(
            ["--otel-endpoint", "http://127.0.0.1:\(collector.port)", "--otel-sample-ratio", "1"],
            environment: ["OTEL_EXPORTER_OTLP_PROTOCOL": "http/json", "OTEL_BSP_SCHEDULE_DELAY": "200"])
        let viewer = try await TestViewer.join(port: node.port, room: "traced")
        let traceID = "0af7651916cd43dd8448eb211c80319c", clientSpan = "b7ad6b7169203331"
        let reply = try await httpRequest(
            port: node.port, method: "POST", path: "/v1/rooms/traced/comments",
            headers: ["Content-Type": "application/json", "traceparent": "00-\(traceID)-\(clientSpan)-01", "X-Request-Id": "linked-7"], body: Array(#"{"text":"traced"}"#.utf8))
        #expect(reply.status == 201 && reply.headers["x-request-id"] == "linked-7")
        try await viewer.waitForComments(1)

        let names = ["danmaku.post", "danmaku.check", "danmaku.admit", "danmaku.store", "danmaku.publish", "danmaku.push"]
        try await collector.requests.wait(for: "the spans of the post", timeout: .seconds(20)) { requests in
            Set(requests.flatMap { Self.spans(in: $0.body) }.map(\.name)).isSuperset(of: names)
        }
        #expect(collector.requests.value.allSatisfy { $0.path == "/v1/traces" })
        let spans = Dictionary(collector.requests.value.flatMap { Self.spans(in: $0.body) }.map { ($0.name, $0) }) { first, _ in first }
        let post = try #require(spans["danmaku.post"])
        #expect(names.allSatisfy { spans[$0]?.traceID == traceID }, "one trace, the client's")
        #expect(post.parentID == clientSpan)
        #expect(post.attributes["danmaku.outcome"] == "accepted" && post.attributes["danmaku.seq"] == "1" && post.attributes["danmaku.room"] == "traced")
        #expect(post.attributes["danmaku.request_id"] == "linked-7", "the trace names the request id its answer carried")
        for step in ["danmaku.check", "danmaku.admit", "danmaku.store", "danmaku.publish"] {
            #expect(spans[step]?.parentID == post.spanID, "\(step) is a step of the post")
        }
        let push = try #require(spans["danmaku.push"])
        #expect(push.parentID == spans["danmaku.publish"]?.spanID, "the batch continues from the publish")
        #expect(push.attributes["danmaku.viewers"] == "1")
        await viewer.close()
        await node.stop()
        await collector.stop()
    }

    /// The spans of one OTLP/HTTP JSON export (`resourceSpans` → `scopeSpans` → `spans`).
    static func spans(in body: Data) -> [ExportedSpan] {
        guard let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any] else { return [] }
        let resources = object["resourceSpans"] as? [[String: Any]] ?? []
        let scoped = resources.flatMap { $0["scopeSpans"] as? [[String: Any]] ?? [] }
        return scoped.flatMap { $0["spans"] as? [[String: Any]] ?? [] }.map { span in
            var attributes: [String: String] = [:]
            for attribute in span["attributes"] as? [[String: Any]] ?? [] {
                guard let key = attribute["key"] as? String, let value = (attribute["value"] as? [String: Any])?.values.first else { continue }
                attributes[key] = "\(value)"
            }
            return ExportedSpan(
                name: span["name"] as? String ?? "", traceID: hex(span["traceId"]), spanID: hex(span["spanId"]),
                parentID: hex(span["parentSpanId"]), attributes: attributes)
        }
    }

    /// An id as lowercase hex: the OTLP JSON mapping writes ids in hex, protobuf's JSON mapping
    /// (which some exporters use) in base64.
    static func hex(_ value: Any?) -> String {
        guard let text = value as? String, !text.isEmpty else { return "" }
        if text.count % 2 == 0, text.allSatisfy(\.isHexDigit) { return text.lowercased() }
        guard let bytes = Data(base64Encoded: text) else { return text }
        return bytes.map { String(format: "%02x", $0) }.joined()
    }
}
