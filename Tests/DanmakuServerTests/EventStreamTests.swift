import DanmakuCore
import DanmakuIngest
import DanmakuTestSupport
import Foundation
import Testing

/// Server-Sent Events, read off a raw socket: one event per batch, `id` = last seq, resume with
/// `Last-Event-ID`.
@Suite struct EventStreamTests {
    /// The body received so far: the stream is an HTTP/1.1 answer without a length, sent chunked.
    func body(_ bytes: [UInt8]) -> String {
        let crlf = Array("\r\n".utf8)
        guard let headEnd = bytes.firstRange(of: crlf + crlf) else { return "" }
        return String(decoding: ChunkedBody.decode(bytes[headEnd.upperBound...]), as: UTF8.self)
    }

    /// The events received so far: (id, data) pairs.
    func events(_ bytes: [UInt8]) -> [(id: UInt64?, data: [String: Any])] {
        body(bytes).components(separatedBy: "\n\n").compactMap { block in
            var id: UInt64?
            var data: [String: Any]?
            for line in block.split(separator: "\n") {
                // `EPOCH-SEQ`: the seq is what a test compares.
                if line.hasPrefix("id: ") { id = line.dropFirst(4).split(separator: "-").last.flatMap { UInt64($0) } }
                if line.hasPrefix("data: ") {
                    data = (try? JSONSerialization.jsonObject(with: Data(line.dropFirst(6).utf8))) as? [String: Any]
                }
            }
            return data.map { (id, $0) }
        }
    }

    func seqs(_ events: [(id: UInt64?, data: [String: Any])]) -> [Int] {
        events.flatMap { ($0.data["comments"] as? [[String: Any]] ?? []).compactMap { $0["seq"] as? Int } }
    }

    /// A resume is charged to the read budget of the client a trusted proxy names, as the
    /// request's other reads are, not to the proxy's own address shared by all its clients.
    @Test func resumesBehindATrustedProxyAreChargedToTheirClient() async throws {
        try await withServer({
            $0.logic.readLimit = RateLimit(perSecond: 0.01, burst: 1)
            $0.ingest.clientAddress = ClientAddress(trustedProxies: "127.0.0.0/8")!
        }) { _, port async throws in
            #expect(try await postComment(port: port, room: "px", json: #"{"text":"one"}"#).status == 201)
            func resume(as client: String) async throws -> String {
                let stream = try await TestConnection.connect(port: port)
                try await stream.send("GET /v1/rooms/px/events HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: \(client)\r\nLast-Event-ID: 0\r\n\r\n")
                try await stream.input.wait(for: "history or refusal") {
                    let text = String(decoding: $0.bytes, as: UTF8.self)
                    return text.contains(#""type":"comments""#) || text.contains("read budget spent")
                }
                return String(decoding: stream.input.value.bytes, as: UTF8.self)
            }
            #expect(try await resume(as: "198.51.100.1").contains(#""type":"comments""#))
            #expect(try await resume(as: "198.51.100.2").contains(#""type":"comments""#), "another client behind the same proxy")
            #expect(try await resume(as: "198.51.100.1").contains("read budget spent"), "the first client again")
        }
    }

    @Test func batchesArriveAsEventsAndLastEventIDResumes() async throws {
        try await withServer { _, port in
            let stream = try await TestConnection.connect(port: port)
            try await stream.send("GET /v1/rooms/sse/events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n")
            try await stream.input.wait(for: "hello") { String(decoding: $0.bytes, as: UTF8.self).contains(#""type":"hello""#) }
            let head = String(decoding: stream.input.value.bytes, as: UTF8.self)
            #expect(head.hasPrefix("HTTP/1.1 200 OK\r\n") && head.contains("Content-Type: text/event-stream"))
            for index in 1...3 {
                #expect(try await postComment(port: port, room: "sse", json: #"{"text":"event \#(index)"}"#).status == 201)
            }
            try await stream.input.wait(for: "three comments") { seqs(events($0.bytes)).count >= 3 }
            let received = events(stream.input.value.bytes)
            #expect(seqs(received) == [1, 2, 3])
            // Other events (`online`) may come between batches; they carry no id.
            let batches = received.filter { $0.data["type"] as? String == "comments" }
            #expect(batches.last?.id == 3, "id is the batch's last seq")
            let epoch = try #require(try await httpRequest(port: port, method: "GET", path: "/v1/rooms/sse/comments").json["epoch"] as? Int)
            #expect(received.filter { $0.data["type"] as? String != "comments" }.allSatisfy { $0.id == nil })

            let resumed = try await TestConnection.connect(port: port)
            try await resumed.send("GET /v1/rooms/sse/events HTTP/1.1\r\nHost: x\r\nLast-Event-ID: 1\r\n\r\n")
            try await resumed.input.wait(for: "the rest") { seqs(events($0.bytes)).count >= 2 }
            #expect(seqs(events(resumed.input.value.bytes)) == [2, 3])
            // A stream that began in a numbered room names its epoch in each id (one that began
            // before the first post has ids of bare seqs, taken as the room's first numbering).
            #expect(String(decoding: resumed.input.value.bytes, as: UTF8.self).contains("id: \(epoch)-3\n"), "the id names the epoch")

            let bad = try await httpRequest(port: port, method: "GET", path: "/v1/rooms/sse/events", headers: ["Last-Event-ID": "yesterday"])
            #expect(bad.status == 400 && bad.errorCode == "invalid_since")
            // An id of another epoch: the room's numbering from its start, not a skip.
            let stale = try await TestConnection.connect(port: port)
            try await stale.send("GET /v1/rooms/sse/events HTTP/1.1\r\nHost: x\r\nLast-Event-ID: 12345-2\r\n\r\n")
            try await stale.input.wait(for: "all three") { seqs(events($0.bytes)).count >= 3 }
            #expect(seqs(events(stale.input.value.bytes)) == [1, 2, 3])
            await stale.close()
            await stream.close()
            await resumed.close()
            // The server keeps serving after event-stream clients leave.
            #expect(try await postComment(port: port, room: "sse", json: #"{"text":"after"}"#).status == 201)
        }
    }

    /// The event id is the seq the batch brings the reader to, even when a notice's payload
    /// holds text that looks like a comment (`{"seq":999}`).
    @Test func aNoticeWithSeqLikePayloadDoesNotSetTheEventID() async throws {
        let tokens = ModerationTests()
        try await withServer({ $0.jwtSecret = ModerationTests.secret }) { _, port in
            let streamer = try await tokens.bearer("star", .streamer, rooms: ["ssn"])
            let stream = try await TestConnection.connect(port: port)
            try await stream.send("GET /v1/rooms/ssn/events HTTP/1.1\r\nHost: x\r\n\r\n")
            try await stream.input.wait(for: "hello") { String(decoding: $0.bytes, as: UTF8.self).contains(#""type":"hello""#) }
            let notice = #"{"kind":"trick","inner":{"seq":999}}"#
            #expect(try await tokens.call(port, "POST", "/v1/rooms/ssn/notices", streamer, notice).status == 201)
            try await stream.input.wait(for: "the notice") { seqs(events($0.bytes)).count >= 1 }
            let batches = events(stream.input.value.bytes).filter { $0.data["type"] as? String == "comments" }
            #expect(batches.last?.id == 1, "\(batches.map(\.id))")
            #expect(String(decoding: stream.input.value.bytes, as: UTF8.self).contains(#"{"seq":999}"#), "the payload went out as sent")
            await stream.close()
        }
    }

    @Test func aPushlessNodeRefusesEventStreams() async throws {
        try await RedisServer.with { redis in
            let (node, _) = try await DanmakuNode.start(["--roles", "ingest,logic", "--bus", redis.url])
            let reply = try await httpRequest(port: node.port, method: "GET", path: "/v1/rooms/r/events")
            await node.stop()
            #expect(reply.status == 404 && reply.errorCode == "role_not_served")
        }
    }
}
