import DanmakuClient
import DanmakuTestSupport
import Foundation
import Testing

/// The client library's HTTP side against a real `danmaku` process: a video's pool (segments
/// revalidated by their tag, posts at an offset, likes, removal), a live room's likes and
/// recall, and reports of both.
@Suite struct DanmakuHTTPClientTests {
    @Test func aVideoPoolIsFetchedPostedLikedAndTakenBack() async throws {
        let node = try await DanmakuNode.start([])
        defer { Task { await node.stop() } }
        let pool = try DanmakuVideoPool(server: "http://127.0.0.1:\(node.port)", video: "film")
        // In open mode any post starts a pool.
        let first = try await pool.post("opening", atMs: 1_500, color: "#ff0000")
        let second = try await pool.post("later", atMs: 400_000)
        #expect(first.video == "film" && first.offsetMs == 1_500 && second.seq == first.seq + 1)

        let segment = try await pool.segment(0)
        #expect(segment.from == 0 && segment.to == 360_000 && segment.comments.map(\.text) == ["opening"])
        #expect(segment.comments.first?.color == "#ff0000")
        #expect(try await pool.segment(0) == segment, "unchanged: the copy revalidated by its tag")
        #expect(try await pool.segment(1).comments.map(\.text) == ["later"])

        #expect(try await pool.like(first.id) == 1)
        #expect(try await pool.like(first.id) == 1, "once per user")
        #expect(try await pool.segment(0).comments.first?.likes == 1, "a like changes the segment, and its tag")

        try await pool.remove(first.id)
        #expect(try await pool.segment(0).comments.isEmpty)
        await #expect(throws: DanmakuClientError.refused(code: "not_found", message: "no such resource", retryAfter: nil)) {
            try await pool.like(first.id)
        }
    }

    @Test func aLiveCommentIsLikedAndRecalled() async throws {
        let node = try await DanmakuNode.start([])
        defer { Task { await node.stop() } }
        let client = try DanmakuClient(server: "ws://127.0.0.1:\(node.port)", rooms: ["live"])
        defer { client.close() }
        let events = Observed<[DanmakuEvent]>([])
        let reader = Task { for await event in client { events.update { $0.append(event) } } }
        defer { reader.cancel() }
        try await events.wait(for: "joined") { $0.contains { if case .joined("live", _, _, _) = $0 { true } else { false } } }
        let receipt = try await client.post("take me back", to: "live")
        let actions = try DanmakuRoomActions(server: "ws://127.0.0.1:\(node.port)")
        #expect(try await actions.like(receipt.id, seq: receipt.seq, in: "live") == 1)
        try await events.wait(for: "the like's count") { $0.contains { if case .likes("live", let likes) = $0 { likes.contains { $0.id == receipt.id && $0.count == 1 } } else { false } } }
        #expect(try await actions.recall(receipt.id, in: "live") == receipt.seq)
        try await events.wait(for: "the retraction") { $0.contains { if case .retracted("live", receipt.seq, receipt.id) = $0 { true } else { false } } }
        await #expect(throws: DanmakuClientError.self) { try await actions.recall(receipt.id, in: "live") }
    }

    /// A token of `user` for a node started with `secret`, from `danmaku token`.
    func token(_ user: String, role: String = "viewer", secret: String) async throws -> String {
        let minted = try await ChildProcess.run(DanmakuNode.executable, ["token", "--secret", secret, "--user", user, "--name", user, "--role", role])
        return minted.output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test func liveAndVideoCommentsAreReportedOncePerViewer() async throws {
        // With tokens: the poster and the reporter must be two users (no one reports their own comment).
        let secret = "client-reports-secret-of-32-bytes-or-more"
        let node = try await DanmakuNode.start(["--jwt-secret", secret])
        defer { Task { await node.stop() } }
        let server = "http://127.0.0.1:\(node.port)"
        let (poster, reporter) = (try await token("poster", secret: secret), try await token("reporter", secret: secret))
        let client = try DanmakuClient(server: server, rooms: ["reports"], token: poster)
        defer { client.close() }
        let events = Observed<[DanmakuEvent]>([])
        let reader = Task { for await event in client { events.update { $0.append(event) } } }
        defer { reader.cancel() }
        try await events.wait(for: "joined") { $0.contains { if case .joined("reports", _, _, _) = $0 { true } else { false } } }
        let receipt = try await client.post("buy followers", to: "reports")
        let actions = try DanmakuRoomActions(server: server, token: reporter)
        let filed = try await actions.report(receipt.id, seq: receipt.seq, in: "reports", reason: .spam, text: "ads")
        #expect(filed.id == receipt.id && filed.seq == receipt.seq && filed.reporters == 1 && !filed.hidden)
        await #expect(throws: DanmakuClientError.refused(code: "already_reported", message: "you have reported this comment already", retryAfter: nil)) {
            try await actions.report(receipt.id, seq: receipt.seq, in: "reports", reason: .abuse)
        }

        // A video's pool is started by its staff.
        let moderator = try await token("mod", role: "moderator", secret: secret)
        let posted = try await DanmakuVideoPool(server: server, video: "reported-film", token: moderator).post("the twist is", atMs: 0)
        let pool = try DanmakuVideoPool(server: server, video: "reported-film", token: reporter)
        #expect(try await pool.report(posted.id, reason: .offTopic).reporters == 1)
        await #expect(throws: DanmakuClientError.self) { try await pool.report("no-such-comment", reason: .spoiler) }
    }

    @Test func anAddressItCannotUseIsRefused() {
        #expect(throws: DanmakuClientError.invalidURL("ftp://host")) { try DanmakuVideoPool(server: "ftp://host", video: "v") }
        #expect(throws: DanmakuClientError.invalidURL("nohost")) { try DanmakuRoomActions(server: "nohost") }
    }
}
