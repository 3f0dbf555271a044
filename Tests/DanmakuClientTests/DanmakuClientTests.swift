import DanmakuClient
import DanmakuTestSupport
import Foundation
import Testing

/// `DanmakuClient` against a real `danmaku` process over loopback.
@Suite struct DanmakuClientTests {
    /// What a client reported, collected by a task that reads its events.
    final class Collector: Sendable {
        let events = Observed<[DanmakuEvent]>([])
        let task: Task<Void, Never>

        init(_ client: DanmakuClient) {
            let events = events
            task = Task { for await event in client { events.update { $0.append(event) } } }
        }

        /// Seqs of `room`'s comments, in the order reported.
        func seqs(_ room: String) -> [UInt64] { Self.seqs(room, in: events.value) }

        static func seqs(_ room: String, in events: [DanmakuEvent]) -> [UInt64] {
            events.flatMap { event -> [UInt64] in
                if case .comments(room, let comments) = event { return comments.map(\.seq) }
                return []
            }
        }

        func waitForSeqs(_ room: String, _ expected: [UInt64], timeout: Duration = .seconds(15)) async throws {
            do {
                try await events.wait(for: "\(room) seqs \(expected)", timeout: timeout) { Self.seqs(room, in: $0).count >= expected.count }
            } catch {
                Issue.record("events so far: \(events.value)")
                throw error
            }
            #expect(seqs(room) == expected)
        }
    }

    func postOverHTTP(_ port: Int, _ room: String, _ text: String) async throws -> UInt64 {
        let reply = try await postComment(port: port, room: room, json: #"{"text":"\#(text)"}"#)
        #expect(reply.status == 201)
        return (reply.json["seq"] as? NSNumber)?.uint64Value ?? 0
    }

    @Test func watchesSeveralRoomsAndPostsWithAnAnswer() async throws {
        let node = try await DanmakuNode.start(["--words", try wordsFile(["forbidden"])])
        let client = try DanmakuClient(server: "ws://127.0.0.1:\(node.port)", rooms: ["a"])
        let collector = Collector(client)
        try await collector.events.wait(for: "joined a") { $0.contains { if case .joined("a", _, _, _) = $0 { true } else { false } } }
        client.join("b")
        try await collector.events.wait(for: "joined b") { $0.contains { if case .joined("b", _, _, _) = $0 { true } else { false } } }

        _ = try await postOverHTTP(node.port, "a", "one")
        _ = try await postOverHTTP(node.port, "b", "two")
        let receipt = try await client.post("three", to: "b", size: "large")
        #expect(receipt.room == "b" && receipt.seq == 2)
        try await collector.waitForSeqs("a", [1])
        try await collector.waitForSeqs("b", [1, 2])
        let texts = collector.events.value.flatMap { event -> [String] in
            if case .comments(_, let comments) = event { return comments.compactMap(\.text) }
            return []
        }
        #expect(Set(texts) == ["one", "two", "three"])
        let large = collector.events.value.flatMap { event -> [DanmakuComment] in
            if case .comments(_, let comments) = event { return comments.filter { $0.size == "large" } }
            return []
        }
        #expect(large.map(\.text) == ["three"])
        // A like of "three" comes back as its count.
        let liked = try #require(large.first)
        let like = try await jsonRequest(port: node.port, "POST", "/v1/rooms/b/comments/\(liked.id)/likes", authorization: nil, #"{"seq":2}"#)
        #expect(like.json["likes"] as? Int == 1, "\(like)")
        try await collector.events.wait(for: "likes of b") { events in
            events.contains { if case .likes("b", let likes) = $0 { likes == [CommentLikes(id: liked.id, seq: 2, count: 1)] } else { false } }
        }

        await #expect(throws: DanmakuClientError.refused(code: "filtered", message: "comment contains a blocked word", retryAfter: nil)) {
            _ = try await client.post("something forbidden", to: "a")
        }
        client.leave("b")
        #expect(client.rooms == ["a"])
        client.close()
        await collector.task.value
        await node.stop()
    }

    /// Posts are answered as they complete: concurrent posts each get their own answer (matched by
    /// the idempotency key the server echoes), not the one that happens to come first.
    @Test func concurrentPostsGetTheirOwnAnswers() async throws {
        let node = try await DanmakuNode.start([])
        let client = try DanmakuClient(server: "ws://127.0.0.1:\(node.port)", rooms: ["a"])
        let collector = Collector(client)
        try await collector.events.wait(for: "joined a") { $0.contains { if case .joined("a", _, _, _) = $0 { true } else { false } } }
        for round in 0..<5 {
            // A post to a room the client does not watch is refused at once, ahead of the
            // stored posts' answers, which come after their store.
            async let stored = client.post("stored \(round)", to: "a")
            async let refused: Result<PostReceipt, any Error> = { () async -> Result<PostReceipt, any Error> in
                do { return .success(try await client.post("refused \(round)", to: "elsewhere")) } catch { return .failure(error) }
            }()
            async let alsoStored = client.post("also stored \(round)", to: "a")
            let receipts = try await [stored, alsoStored]
            #expect(receipts.allSatisfy { $0.room == "a" })
            #expect(Set(receipts.map(\.seq)).count == 2)
            let refusal = await refused
            guard case .failure(DanmakuClientError.refused(let code, _, _)) = refusal else {
                Issue.record("the unwatched room's post was answered \(refusal)")
                continue
            }
            #expect(code == "not_watching")
        }
        client.close()
        await collector.task.value
        await node.stop()
    }

    @Test func reconnectsAcrossAServerRestartAndMissesNothing() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("danmaku-client-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let first = try await DanmakuNode.start(["--data-dir", directory])
        let port = first.port
        let client = try DanmakuClient(server: "ws://127.0.0.1:\(port)", rooms: ["live"])
        let collector = Collector(client)
        try await collector.events.wait(for: "joined") { $0.contains { if case .joined = $0 { true } else { false } } }
        for index in 1...5 { _ = try await postOverHTTP(port, "live", "before \(index)") }
        try await collector.waitForSeqs("live", [1, 2, 3, 4, 5])

        await first.stop()
        try await collector.events.wait(for: "the client sees the drop") { $0.contains { if case .disconnected = $0 { true } else { false } } }
        let second = try await DanmakuNode.start(["--data-dir", directory, "--port", String(port)])
        // Posted at once: the client is most likely still waiting to reconnect, and gets these from
        // history when it resumes; the rest arrive live.
        for index in 6...10 { _ = try await postOverHTTP(port, "live", "after \(index)") }
        try await collector.waitForSeqs("live", Array(1...10))
        #expect(client.lastSeqs["live"] == 10)
        client.close()
        await collector.task.value
        await second.stop()
    }

    /// A client that was connected, whose server then refuses connections, backs off: each wait
    /// longer than the last (a failed open does not count the previous connection's hello).
    @Test func aClientWhoseServerIsGoneBacksOffLongerEachTime() async throws {
        let node = try await DanmakuNode.start([])
        let client = try DanmakuClient(server: "ws://127.0.0.1:\(node.port)", rooms: ["gone"])
        let collector = Collector(client)
        try await collector.events.wait(for: "joined") { $0.contains { if case .joined = $0 { true } else { false } } }
        await node.stop()
        @Sendable func waits(_ events: [DanmakuEvent]) -> [Duration] {
            events.compactMap { if case .disconnected(_, let retryIn) = $0 { retryIn } else { nil } }
        }
        try await collector.events.wait(for: "five attempts", timeout: .seconds(30)) { waits($0).count >= 5 }
        let seen = waits(collector.events.value)
        // Each step doubles, each wait drawn from the upper half of its step: from the third on,
        // every wait is longer than the first could be.
        #expect(seen[2...].allSatisfy { $0 > .milliseconds(100) }, "\(seen)")
        client.close()
        await collector.task.value
    }

    /// The server stores a post, but the connection is cut before its `ack` arrives: the client
    /// reconnects, sends the post again with its key, and gets the first receipt; history holds
    /// the comment once.
    @Test func aPostCutOffBeforeItsAnswerIsRetriedAndStoredOnce() async throws {
        let node = try await DanmakuNode.start([])
        let proxy = try await TestProxy.start(to: node.port)
        let client = try DanmakuClient(server: "ws://127.0.0.1:\(proxy.port)", rooms: ["cut"])
        let collector = Collector(client)
        try await collector.events.wait(for: "joined") { $0.contains { if case .joined = $0 { true } else { false } } }

        proxy.swallowReplies(true)
        let posting = Task { try await client.post("sent once") }
        // Stored on the server, its ack swallowed on the way back.
        try await eventually("the comment stored") {
            let history = try await httpRequest(port: node.port, method: "GET", path: "/v1/rooms/cut/comments?since=0")
            return (history.json["comments"] as? [Any])?.count == 1
        }
        proxy.swallowReplies(false)
        await proxy.cutConnections()

        let receipt = try await posting.value
        #expect(receipt.room == "cut" && receipt.seq == 1)
        let history = try await httpRequest(port: node.port, method: "GET", path: "/v1/rooms/cut/comments?since=0")
        let stored = history.json["comments"] as? [[String: Any]]
        #expect(stored?.count == 1 && stored?.first?["id"] as? String == receipt.id, "\(history)")
        #expect(collector.events.value.contains { if case .disconnected = $0 { true } else { false } })
        try await collector.waitForSeqs("cut", [1])
        client.close()
        await collector.task.value
        await proxy.stop()
        await node.stop()
    }

    /// A shielding level hides the comments that weigh less: live (the token's `level` weighs a
    /// comment) and in a video's segments (fetched with `?minWeight=`).
    @Test func aShieldingLevelHidesLighterCommentsLiveAndInSegments() async throws {
        let secret = "client-shielding-secret-of-32-bytes-or-more"
        let node = try await DanmakuNode.start(["--jwt-secret", secret])
        func token(_ user: String, _ extra: [String]) async throws -> String {
            let minted = try await ChildProcess.run(DanmakuNode.executable, ["token", "--secret", secret, "--user", user, "--name", user] + extra)
            return minted.output.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let (veteran, newcomer, plain) = (try await token("vet", ["--level", "6"]), try await token("new", ["--level", "1"]), try await token("plain", []))
        let client = try DanmakuClient(server: "ws://127.0.0.1:\(node.port)", rooms: ["shield"], shieldingLevel: 5)
        #expect(client.shieldingLevel == 5)
        let collector = Collector(client)
        try await collector.events.wait(for: "joined") { $0.contains { if case .joined = $0 { true } else { false } } }
        for (text, bearer) in [("from a veteran", veteran), ("from a newcomer", newcomer), ("from a plain viewer", plain)] {
            let reply = try await jsonRequest(port: node.port, "POST", "/v1/rooms/shield/comments", authorization: "Bearer " + bearer, #"{"text":"\#(text)"}"#)
            #expect(reply.status == 201, "\(reply)")
        }
        try await eventually("seq 3 seen") { client.lastSeqs["shield"] == 3 }
        client.shieldingLevel = 1
        _ = try await jsonRequest(port: node.port, "POST", "/v1/rooms/shield/comments", authorization: "Bearer " + newcomer, #"{"text":"now shown"}"#)
        func reported() -> [DanmakuComment] {
            collector.events.value.flatMap { event -> [DanmakuComment] in
                if case .comments(_, let comments) = event { return comments }
                return []
            }
        }
        // The client's cursor moves before its events reach the collector: wait for the events.
        try await eventually("seq 4 seen and reported") { client.lastSeqs["shield"] == 4 && reported().contains { $0.seq == 4 } }
        let reported = reported()
        #expect(reported.map(\.text) == ["from a veteran", "from a plain viewer", "now shown"], "the newcomer's first (weight 2) hidden at level 5")
        #expect(reported.map(\.weight) == [7, 5, 2] && reported.map(\.currentWeight) == [7, 5, 2])
        client.shieldingLevel = 42
        #expect(client.shieldingLevel == 10, "held to 1-10")
        client.close()
        await collector.task.value

        let server = "http://127.0.0.1:\(node.port)"
        let staff = try await token("star", ["--role", "moderator"])
        _ = try await DanmakuVideoPool(server: server, video: "film", token: staff).post("start", atMs: 3_600_000)
        _ = try await DanmakuVideoPool(server: server, video: "film", token: veteran).post("heavy", atMs: 1_000)
        _ = try await DanmakuVideoPool(server: server, video: "film", token: newcomer).post("light", atMs: 2_000)
        let pool = try DanmakuVideoPool(server: server, video: "film", shieldingLevel: 6)
        #expect(try await pool.segment(0).comments.map(\.text) == ["heavy"])
        pool.shieldingLevel = 1
        let all = try await pool.segment(0).comments
        #expect(all.map(\.text) == ["heavy", "light"] && all.map(\.currentWeight) == [7, 2], "another level is another fetch")
        await node.stop()
    }

    @Test func refusesAURLItCannotUse() {
        #expect(throws: DanmakuClientError.invalidURL("ftp://example.com")) { _ = try DanmakuClient(server: "ftp://example.com", rooms: ["a"]) }
    }

    /// A word list file for `--words`.
    func wordsFile(_ words: [String]) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("danmaku-words-\(UUID().uuidString).txt").path
        try words.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
}
