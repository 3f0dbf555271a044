import DanmakuCore
import DanmakuIngest
import DanmakuLogic
import DanmakuServer
import DanmakuTestSupport
import Foundation
import NIOCore
import Testing

/// Each bad input gets its documented answer, and a viewer on the same server keeps receiving.
@Suite struct BadInputTests {
    /// Sends `attack`, then checks that a well-behaved viewer still gets a fresh comment.
    func expectServerStillServes(port: Int, viewer: TestViewer, expected: inout Int) async throws {
        expected += 1
        let reply = try await postComment(port: port, room: "calm", json: #"{"text":"still here \#(expected)"}"#)
        #expect(reply.status == 201, "server stopped accepting: \(reply)")
        try await viewer.waitForComments(expected)
        #expect(viewer.observed.value.seqs == Array(1...UInt64(expected)))
    }

    /// Each kind of bad input over a real socket, and after each a viewer still gets a fresh
    /// comment. (Every documented status and code is checked on the connection's pipeline in
    /// process: `HTTPErrorCodeTests`.)
    @Test func badRequestsAreRefusedAndTheServerKeepsServing() async throws {
        try await withServer({ $0.logic.words = ["forbidden"] }) { _, port in
            let viewer = try await TestViewer.join(port: port, room: "calm")
            var delivered = 0
            let cases: [(String, () async throws -> HTTPReply, Int, String)] = [
                ("malformed JSON", { try await postComment(port: port, room: "r", json: #"{"text": "#) }, 400, "invalid_json"),
                ("oversized body", { try await postComment(port: port, room: "r", json: "{\"text\":\"\(String(repeating: "x", count: 5000))\"}") }, 413, "body_too_large"),
                ("invalid UTF-8", {
                    try await httpRequest(port: port, method: "POST", path: "/v1/rooms/r/comments", headers: ["Content-Type": "application/json"],
                                          body: Array(#"{"text":""#.utf8) + [0xC3, 0x28] + Array(#""}"#.utf8))
                }, 400, "invalid_json"),
                ("filtered word", { try await postComment(port: port, room: "r", json: #"{"text":"so ＦＯＲＢＩＤＤＥＮ"}"#) }, 422, "filtered"),
                ("headers over the head-size limit", {
                    try await httpRequest(port: port, method: "GET", path: "/healthz", headers: ["X-Big": String(repeating: "a", count: 20_000)])
                }, 431, "headers_too_large"),
            ]
            for (name, attack, status, code) in cases {
                let reply = try await attack()
                #expect(reply.status == status, "\(name): \(reply)")
                #expect(reply.errorCode == code, "\(name): \(reply)")
                try await expectServerStillServes(port: port, viewer: viewer, expected: &delivered)
            }
            for garbage in ["GARBAGE\r\n\r\n", "\u{0}\u{1}\u{2}\r\n\r\n"] {
                let connection = try await TestConnection.connect(port: port)
                try await connection.send(garbage)
                try await connection.waitForClose()
                #expect(String(decoding: connection.input.value.bytes, as: UTF8.self).hasPrefix("HTTP/1.1 400"), "\(garbage.debugDescription)")
                try await expectServerStillServes(port: port, viewer: viewer, expected: &delivered)
            }
            // None of the rejected comments was stored.
            let history = try await httpRequest(port: port, method: "GET", path: "/v1/rooms/r/comments?since=0")
            #expect(history.json["lastSeq"] as? Int == 0)
            await viewer.close()
        }
    }

    // The HTTP deadline is 5 s here: a request sent right after connecting must be read within
    // it, and a machine busy with the other suites has stalled that long (a 2 s deadline closed
    // the viewer's upgrade request before it was read).
    @Test func silentAndDribblingHTTPConnectionsAreClosed() async throws {
        try await withServer({ $0.ingest.idleTimeout = .seconds(5) }) { _, port in
            let silent = try await TestConnection.connect(port: port)
            let partial = try await TestConnection.connect(port: port)
            try await partial.send("POST /v1/rooms/r/comments HTTP/1.1\r\nHost: x\r\n")
            try await silent.waitForClose(timeout: .seconds(20))
            try await partial.waitForClose(timeout: .seconds(20))
            // A viewer is not an HTTP connection: it outlives the HTTP idle timeout.
            let viewer = try await TestViewer.join(port: port, room: "r")
            let reply = try await httpRequest(port: port, method: "GET", path: "/healthz")
            #expect(reply.status == 200)
            try await viewer.observed.wait(for: "the handshake") { $0.handshake != nil || $0.closed }
            #expect(viewer.observed.value.handshakeStatus == 101, "the viewer's upgrade was answered")
            // A silent connection opened after the viewer's: once the deadline has closed it, the
            // viewer's would have closed the viewer too, had it been left in place.
            let probe = try await TestConnection.connect(port: port)
            try await probe.waitForClose(timeout: .seconds(20))
            #expect(!viewer.observed.value.closed, "a viewer outlived the HTTP idle timeout")
            await viewer.close()
        }
    }

    @Test func slowlorisCannotExtendTheRequestDeadline() async throws {
        try await withServer({ $0.ingest.idleTimeout = .seconds(4) }) { _, port in
            let started = ContinuousClock.now
            let slowloris = try await TestConnection.connect(port: port)
            let endlessBody = try await TestConnection.connect(port: port)
            try await endlessBody.send("POST /v1/rooms/r/comments HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
            // One header byte every 200 ms for 40 s: activity all along, but never a complete request.
            let trickle = Task {
                try await slowloris.send("GET /healthz HTTP/1.1\r\n")
                for _ in 0..<200 {
                    try await Task.sleep(for: .milliseconds(200))
                    try await slowloris.send("X")
                    try await endlessBody.send("1\r\nx\r\n")
                }
            }
            try await slowloris.waitForClose(timeout: .seconds(30))
            try await endlessBody.waitForClose(timeout: .seconds(30))
            trickle.cancel()
            // Closed at the 4 s deadline, long before the trickle would end.
            #expect(ContinuousClock.now - started < .seconds(25))
            // A client that sends complete requests on a keep-alive connection is served.
            #expect(try await httpRequest(port: port, method: "GET", path: "/healthz").status == 200)
        }
    }

    @Test func hugeHeadersAreRefusedAndTheServerKeepsServing() async throws {
        try await withServer { _, port in
            let viewer = try await TestViewer.join(port: port, room: "calm")
            var delivered = 0
            let connection = try await TestConnection.connect(port: port)
            // 200 KiB of one header: past the HTTP parser's own head limit (~80 KiB), refused as a
            // head over the bound.
            try? await connection.send("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + String(repeating: "a", count: 200_000) + "\r\n\r\n")
            try await connection.waitForClose()
            let reply = try #require(HTTPReply.parse(connection.input.value.bytes)?.reply)
            #expect(reply.status == 431 && reply.errorCode == "headers_too_large")
            try await expectServerStillServes(port: port, viewer: viewer, expected: &delivered)
            await viewer.close()
        }
    }

    @Test func aConnectionStormFromOneAddressStopsAtTheDefaultCap() async throws {
        // The HTTP deadline is out of the way: opening 1,100 connections on a busy machine can take
        // longer than its default 30 s, and the idle connections must stay open for the check.
        try await withServer({ $0.ingest.idleTimeout = .seconds(600) }) { server, port in
            let cap = server.configuration.ingest.maxConnectionsPerAddress
            #expect(cap == 1000)
            // 1,100 connections from one address (20,000 would exceed this process's open files).
            var connections: [TestConnection] = []
            for _ in 0..<(cap + 100) { connections.append(try await TestConnection.connect(port: port)) }
            // Which 100 are refused is the server's order of taking them, not the order of the
            // connects: accepted connections are set up on two event loops, so one loop's
            // connection can take a place before an earlier one waiting on the other loop.
            try await eventually("100 connections refused", timeout: .seconds(90)) {
                connections.filter { $0.input.value.closed }.count >= 100
            }
            try await Task.sleep(for: .milliseconds(500))  // none beyond the 100 closes after them
            let closed = connections.filter { $0.input.value.closed }
            let refused = closed.filter { HTTPReply.parse($0.input.value.bytes)?.reply.errorCode == "too_many_connections" }
            #expect(closed.count == 100)
            #expect(refused.count == 100)
            #expect(server.connections.count("127.0.0.1") == cap)
            for connection in connections { await connection.close() }
        }
    }

    @Test func connectionsPastThePerAddressCapGet429() async throws {
        try await withServer({ $0.ingest.maxConnectionsPerAddress = 5 }) { server, port in
            var viewers: [TestViewer] = []
            for _ in 0..<5 { viewers.append(try await TestViewer.join(port: port, room: "cap")) }
            // The sixth connection is answered at once, before it sends anything, and closed.
            let refused = try await TestConnection.connect(port: port)
            try await refused.waitForClose()
            let reply = try #require(HTTPReply.parse(refused.input.value.bytes)?.reply)
            #expect(reply.status == 429)
            #expect(reply.errorCode == "too_many_connections")
            #expect(reply.headers["retry-after"] == "1")
            // The viewers already connected are unaffected, and a closed one frees its place.
            for viewer in viewers { #expect(!viewer.observed.value.closed) }
            await viewers[0].close()
            try await waitUntil { server.connections.count("127.0.0.1") < 5 }
            #expect(try await httpRequest(port: port, method: "GET", path: "/healthz").status == 200)
            for viewer in viewers.dropFirst() { await viewer.close() }
        }
    }

    @Test func connectionsPastTheNodesCapGet503AndTheNodeKeepsServing() async throws {
        // The node's cap holds whatever the addresses: past it a connection is answered
        // `503 node_full` and closed, so the process never runs out of descriptors (a process at
        // its open-files limit cannot reach Redis, and libdispatch ends it). A few connections
        // past the cap serve health checks and metrics only.
        try await withServer({ $0.ingest.maxConnections = 4; $0.ingest.maxConnectionsPerAddress = 0 }) { server, port in
            #expect(server.connections.maxTotal == 4)
            var viewers: [TestViewer] = []
            for _ in 0..<4 { viewers.append(try await TestViewer.join(port: port, room: "full")) }
            // A full node still answers its probes and scrapes…
            #expect(try await httpRequest(port: port, method: "GET", path: "/healthz").status == 200)
            #expect(try await httpRequest(port: port, method: "GET", path: "/readyz").status == 200)
            let metrics = try await httpRequest(port: port, method: "GET", path: "/metrics")
            #expect(metrics.status == 200)
            #expect(String(decoding: metrics.body, as: UTF8.self).contains("danmaku_connections"))
            // …and nothing else: not a viewer, not a post.
            for request in [
                "GET /v1/rooms/full/ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
                "POST /v1/rooms/full/comments HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 12\r\n\r\n{\"text\":\"a\"}",
                "GET /v1/rooms/full/events HTTP/1.1\r\nHost: x\r\n\r\n",
            ] {
                let turnedAway = try await TestConnection.connect(port: port)
                try await turnedAway.send(request)
                try await turnedAway.waitForClose()
                let reply = try #require(HTTPReply.parse(turnedAway.input.value.bytes)?.reply)
                #expect(reply.status == 503)
                #expect(reply.errorCode == "node_full")
            }
            // The operators' connections are few: held open, the next is refused as it opens.
            var held: [TestConnection] = []
            for _ in 0..<ConnectionLimiter.operatorConnections { held.append(try await TestConnection.connect(port: port)) }
            try await waitUntil { server.connections.operatorCount == ConnectionLimiter.operatorConnections }
            let refused = try await TestConnection.connect(port: port)
            try await refused.waitForClose()
            let reply = try #require(HTTPReply.parse(refused.input.value.bytes)?.reply)
            #expect(reply.status == 503)
            #expect(reply.errorCode == "node_full")
            #expect(reply.headers["retry-after"] == "1")
            for connection in held { await connection.close() }
            for viewer in viewers { #expect(!viewer.observed.value.closed) }
            // A closed connection frees its place, and the refused one took none.
            await viewers[0].close()
            try await waitUntil { server.connections.nodeCount < 4 }
            #expect(server.connections.nodeCount == 3)
            try await waitUntil { server.connections.operatorCount == 0 }
            let newcomer = try await TestViewer.join(port: port, room: "full")
            await newcomer.close()
            for viewer in viewers.dropFirst() { await viewer.close() }
        }
    }

    @Test func theNodesDefaultCapLeavesDescriptorsInReserve() {
        let allowed = ConnectionLimiter.connectionsTheDescriptorLimitAllows()
        var limit = rlimit()
        #if canImport(Glibc)
        _ = getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
        #endif
        #expect(allowed == max(1, Int(clamping: limit.rlim_cur) - ConnectionLimiter.reservedDescriptors))
        #expect(allowed < Int(clamping: limit.rlim_cur))
    }

    /// Waits (bounded) for a server-side condition that has no event to wait on.
    private func waitUntil(timeout: Duration = .seconds(5), _ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while !condition() {
            guard ContinuousClock.now < deadline else { throw TimedOut(description: "server-side condition") }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    @Test func floodPastTheRateLimitGets429WithRetryAfter() async throws {
        // One token per 20 s: however slow the machine, no token refills during the test.
        try await withServer({ $0.logic.ipLimit = RateLimit(perSecond: 0.05, burst: 5) }) { _, port in
            var statuses: [Int] = []
            var retryAfter: String?
            for index in 0..<20 {
                let reply = try await postComment(port: port, room: "flood", json: #"{"text":"spam \#(index)"}"#)
                statuses.append(reply.status)
                if reply.status == 429 {
                    retryAfter = reply.headers["retry-after"]
                    #expect(reply.errorCode == "rate_limited")
                }
            }
            #expect(statuses.prefix(5).allSatisfy { $0 == 201 })
            #expect(statuses.dropFirst(5).allSatisfy { $0 == 429 })
            #expect(retryAfter.flatMap(Int.init).map { $0 >= 1 } == true)
            // Only the accepted ones were numbered and stored.
            let history = try await httpRequest(port: port, method: "GET", path: "/v1/rooms/flood/comments?since=0")
            #expect(history.json["lastSeq"] as? Int == statuses.filter { $0 == 201 }.count)
        }
    }

    @Test func socketProtocolViolationsCloseWithTheRightCode() async throws {
        try await withServer { _, port in
            let calm = try await TestViewer.join(port: port, room: "calm")
            var delivered = 0
            let cases: [(String, [UInt8], Bool, UInt8, Bool, UInt16)] = [
                ("invalid UTF-8", [0x7B, 0xC3, 0x28, 0x7D], true, 0x1, true, 1007),
                ("unmasked frame", Array(#"{"type":"comment","text":"x"}"#.utf8), false, 0x1, true, 1002),
                ("oversize frame", Array(repeating: 0x61, count: 4097), true, 0x1, true, 1009),
                ("binary frame", [1, 2, 3], true, 0x2, true, 1003),
                ("reserved opcode", [], true, 0xB, true, 1002),
                ("fragmented control frame", [], true, 0x9, false, 1002),
                ("close with a code that must not be sent", [0x03, 0xE7], true, 0x8, true, 1002),
                ("close with a one-byte payload", [0x03], true, 0x8, true, 1002),
            ]
            for (name, payload, masked, opcode, fin, code) in cases {
                let viewer = try await TestViewer.join(port: port, room: "r")
                try await viewer.send(opcode: opcode, payload, masked: masked, fin: fin)
                do {
                    try await viewer.waitForClose()
                } catch {
                    Issue.record("\(name): the connection was not closed; frames \(viewer.observed.value.frames.map(\.opcode))")
                    throw error
                }
                #expect(viewer.observed.value.closeCode == code, "\(name)")
                try await expectServerStillServes(port: port, viewer: calm, expected: &delivered)
            }
            let reserved = try await TestViewer.join(port: port, room: "r")
            try await reserved.send(Array("{}".utf8), rsv1: true)
            try await reserved.waitForClose()
            #expect(reserved.observed.value.closeCode == 1002, "reserved bit without an extension")
            try await expectServerStillServes(port: port, viewer: calm, expected: &delivered)

            let flood = try await TestViewer.join(port: port, room: "r")
            // In one write: sent one by one on a busy machine, 100 pings can take long enough for
            // the 20/s refill to absorb them.
            var pings = ByteBuffer()
            for _ in 0..<100 {
                var ping = clientFrame(opcode: 0x9, payload: Array("ping".utf8))
                pings.writeBuffer(&ping)
            }
            try? await flood.send(raw: pings)
            try await flood.waitForClose()
            #expect(flood.observed.value.closeCode == 1008, "ping flood")
            #expect(flood.observed.value.frames.contains { $0.opcode == 0x8 && String(decoding: $0.payload.dropFirst(2), as: UTF8.self) == "too many messages" })
            try await expectServerStillServes(port: port, viewer: calm, expected: &delivered)
            await calm.close()
        }
    }

    @Test func badViewerMessagesGetAnErrorAndTheSocketStaysOpen() async throws {
        try await withServer { _, port in
            let calm = try await TestViewer.join(port: port, room: "calm")
            var delivered = 0
            let viewer = try await TestViewer.join(port: port, room: "r")
            let cases: [(String, String, String)] = [
                ("unknown message type", #"{"type":"dance"}"#, "unknown_type"),
                ("no type", #"{"text":"hi"}"#, "invalid_json"),
                ("wrong field types", #"{"type":"comment","text":["a"],"color":7}"#, "invalid_text"),
                ("not JSON", "hello?", "invalid_json"),
                ("deeply nested JSON", String(repeating: "[", count: 2000) + String(repeating: "]", count: 2000), "invalid_json"),
                ("empty comment", #"{"type":"comment","text":"  "}"#, "invalid_text"),
            ]
            for (index, (name, message, code)) in cases.enumerated() {
                try await viewer.sendText(message)
                try await viewer.observed.wait(for: name) { $0.messages.filter { $0["type"] as? String == "error" }.count > index || $0.closed }
                let error = viewer.observed.value.messages.filter { $0["type"] as? String == "error" }.last
                #expect(error?["code"] as? String == code, "\(name): \(String(describing: error))")
                #expect(!viewer.observed.value.closed, "\(name) closed the socket")
                try await expectServerStillServes(port: port, viewer: calm, expected: &delivered)
            }
            await viewer.close()
            await calm.close()
        }
    }

    @Test func badUpgradeRequestsAreRefused() async throws {
        try await withServer { _, port in
            let calm = try await TestViewer.join(port: port, room: "calm")
            var delivered = 0
            func upgrade(_ path: String, key: String? = "dGhlIHNhbXBsZSBub25jZQ==", version: String = "13", extra: String = "") -> String {
                "GET \(path) HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    + (key.map { "Sec-WebSocket-Key: \($0)\r\n" } ?? "") + "Sec-WebSocket-Version: \(version)\r\n\(extra)\r\n"
            }
            let cases: [(String, String, Int, String?)] = [
                ("invalid room id", upgrade("/v1/rooms/bad!room/ws"), 400, "invalid_room"),
                ("unknown path", upgrade("/v1/nowhere/ws"), 404, "not_found"),
                ("bad since", upgrade("/v1/rooms/r/ws?since=abc"), 400, "invalid_since"),
                ("missing key", upgrade("/v1/rooms/r/ws", key: nil), 400, "invalid_websocket_key"),
                ("two keys", upgrade("/v1/rooms/r/ws", extra: "Sec-WebSocket-Key: c2Vjb25kIGtleSBoZXJlIQ==\r\n"), 400, "invalid_websocket_key"),
                ("key that is not 16 bytes", upgrade("/v1/rooms/r/ws", key: "c2hvcnQ="), 400, "invalid_websocket_key"),
                ("wrong version", upgrade("/v1/rooms/r/ws", version: "8"), 426, "unsupported_websocket_version"),
                ("huge upgrade headers", upgrade("/v1/rooms/r/ws", extra: "X-Big: \(String(repeating: "b", count: 20_000))\r\n"), 431, "headers_too_large"),
            ]
            for (name, request, status, code) in cases {
                let viewer = try await TestViewer.connect(port: port, request: request)
                try await viewer.observed.wait(for: name) { $0.handshake != nil || $0.closed }
                let reply = viewer.observed.value.handshake
                #expect(reply?.status == status, "\(name): \(String(describing: reply))")
                #expect(reply?.errorCode == code, "\(name): \(String(describing: reply))")
                if status == 426 { #expect(reply?.headers["sec-websocket-version"] == "13", "\(name)") }
                await viewer.close()
                try await expectServerStillServes(port: port, viewer: calm, expected: &delivered)
            }
            await calm.close()
        }
    }

    @Test func slowConsumersAreClosedAndHealthyViewersLoseNothing() async throws {

        try await withServer({
            $0.push.maxUnwrittenBytes = 64 * 1024
            $0.push.socketSendBufferBytes = 16 * 1024
        }) { server, port in
            let healthy = try await TestViewer.join(port: port, room: "busy")
            // A viewer that completes the handshake, then never reads again.
            let slow = try await TestConnection.connect(port: port, receiveBuffer: 4096)
            try await slow.send("GET /v1/rooms/busy/ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
            try await slow.input.wait { String(decoding: $0.bytes, as: UTF8.self).contains("\"hello\"") }
            await slow.stopReading()
            let text = String(repeating: "弹", count: 190)
            var posted = 0
            // Post until the server gives up on the slow viewer (bounded: at most 2,000 comments).
            while try await server.hub!.viewerCount() > 1, posted < 2000 {
                let reply = try await postComment(port: port, room: "busy", json: #"{"text":"\#(text) \#(posted)"}"#)
                #expect(reply.status == 201)
                posted += 1
            }
            #expect(try await server.hub!.viewerCount() == 1, "the slow viewer was not dropped after \(posted) comments")
            try await healthy.waitForComments(posted)
            #expect(healthy.observed.value.seqs == Array(1...UInt64(posted)))
            await slow.close()
            await healthy.close()
        }
    }
}
