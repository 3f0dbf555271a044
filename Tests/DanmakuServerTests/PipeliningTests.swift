import DanmakuTestSupport
import Foundation
import Testing

/// HTTP/1.1 pipelining (RFC 9112 §9.3.2): requests sent back to back on one connection are each
/// answered once, in order.
@Suite struct PipeliningTests {
    /// Every response in `bytes`, in order.
    func replies(_ bytes: [UInt8]) -> [HTTPReply] {
        var rest = bytes[...]
        var answers: [HTTPReply] = []
        while let (reply, length) = HTTPReply.parse(Array(rest)) {
            answers.append(reply)
            rest = rest.dropFirst(length)
        }
        return answers
    }

    @Test func fiftyMixedRequestsOnOneConnectionAreAnsweredInOrder() async throws {
        try await withServer { _, port in
            let viewer = try await TestViewer.join(port: port, room: "pl")
            // Five kinds in turn: a post, health, history, the viewer page, a refused moderation call.
            var requests = ""
            for index in 0..<50 {
                switch index % 5 {
                case 0:
                    let body = #"{"text":"pipelined \#(index)"}"#
                    requests += "POST /v1/rooms/pl/comments HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
                case 1: requests += "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                case 2: requests += "GET /v1/rooms/pl/comments?since=0&limit=1000 HTTP/1.1\r\nHost: x\r\n\r\n"
                case 3: requests += "GET /rooms/pl HTTP/1.1\r\nHost: x\r\n\r\n"
                default: requests += "PUT /v1/rooms/pl/settings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
                }
            }
            let connection = try await TestConnection.connect(port: port)
            try await connection.send(requests)
            try await connection.input.wait(for: "50 answers") { replies($0.bytes).count >= 50 }
            let answers = replies(connection.input.value.bytes)
            #expect(answers.count == 50)
            for (index, answer) in answers.enumerated() {
                let posted = index / 5 + 1  // posts so far, this one's included
                switch index % 5 {
                case 0: #expect(answer.status == 201 && answer.json["seq"] as? Int == posted, "\(index): \(answer)")
                case 1: #expect(answer.status == 200 && answer.json["status"] as? String == "ok", "\(index): \(answer)")
                case 2:
                    #expect(answer.status == 200 && answer.json["lastSeq"] as? Int == posted, "\(index): answered after the post before it")
                case 3: #expect(answer.status == 200 && answer.headers["content-type"]?.hasPrefix("text/html") == true, "\(index)")
                default: #expect(answer.status == 403, "\(index): \(answer)")
                }
            }
            // Ten posts, ten comments: each stored once and shown once.
            try await viewer.waitForComments(10)
            #expect(viewer.observed.value.seqs == Array(1...10))
            // The connection is still good for more.
            try await connection.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            try await connection.input.wait(for: "one more") { replies($0.bytes).count == 51 }
            await connection.close()
            await viewer.close()
        }
    }
}
