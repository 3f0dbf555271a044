import DanmakuAuth
import DanmakuTestSupport
import Foundation
import Testing

/// Video pools with `--data-dir`, on the real binary: a finished stream published as a video,
/// comments and likes on disk before their answer, everything back in offset order after a
/// `kill -9`.
@Suite struct VideoArchiveTests {
    let tokens = ModerationTests()

    func start(_ directory: URL) async throws -> DanmakuNode {
        try await DanmakuNode.start(["--data-dir", directory.path] + ArchiveTests.wideLimits, environment: ["DANMAKU_JWT_SECRET": ModerationTests.secret])
    }

    static func comments(_ reply: HTTPReply) -> [[String: Any]] {
        reply.json["comments"] as? [[String: Any]] ?? []
    }

    @Test func aPublishedStreamAndItsNewCommentsOutliveAKill() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("danmaku-videos-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let streamer = try await tokens.bearer("star", .streamer, rooms: ["show", "show-1"])
        let (fan, other) = (try await tokens.bearer("fan", .viewer), try await tokens.bearer("other", .viewer))

        let first = try await start(directory)
        let port = first.port
        #expect(try await tokens.call(port, "POST", "/v1/rooms/show/live", streamer).status == 200)
        for index in 0..<30 {
            #expect(try await tokens.call(port, "POST", "/v1/rooms/show/comments", fan, #"{"text":"live \#(index)"}"#).status == 201)
        }
        let early = try await tokens.call(port, "POST", "/v1/videos/show-1/publish", streamer, #"{"room":"show"}"#)
        #expect(early.status == 409 && early.errorCode == "stream_live", "\(early)")
        #expect(try await tokens.call(port, "DELETE", "/v1/rooms/show/live", streamer).status == 200)
        #expect(try await tokens.call(port, "POST", "/v1/rooms/show/comments", fan, #"{"text":"after the end"}"#).status == 201)

        #expect(try await tokens.call(port, "POST", "/v1/videos/show-1/publish", fan, #"{"room":"show"}"#).errorCode == "forbidden")
        let published = try await tokens.call(port, "POST", "/v1/videos/show-1/publish", streamer, #"{"room":"show"}"#)
        #expect(published.status == 200 && published.json["added"] as? Int == 30 && published.json["stream"] as? Int == 1, "\(published)")
        let again = try await tokens.call(port, "POST", "/v1/videos/show-1/publish", streamer, #"{"room":"show","stream":1}"#)
        #expect(again.json["added"] as? Int == 0, "publishing the same stream twice adds nothing: \(again)")
        #expect(try await tokens.call(port, "POST", "/v1/videos/show-1/publish", streamer, #"{"room":"show","stream":7}"#).errorCode == "no_stream")

        // A viewer of the video adds a comment at 7 minutes and likes one of the stream's.
        let added = try await tokens.call(port, "POST", "/v1/videos/show-1/comments", other, #"{"text":"later","offsetMs":420000}"#)
        #expect(added.status == 201 && added.json["seq"] as? Int == 31, "\(added)")
        let before = Self.comments(try await httpRequest(port: port, method: "GET", path: "/v1/videos/show-1/segments/0"))
        #expect(before.count == 30)
        let liked = try #require(before.first?["id"] as? String)
        #expect(try await tokens.call(port, "POST", "/v1/videos/show-1/comments/\(liked)/likes", other).json["likes"] as? Int == 1)
        await first.stop(signal: SIGKILL)

        let second = try await start(directory)
        let segment = Self.comments(try await httpRequest(port: second.port, method: "GET", path: "/v1/videos/show-1/segments/0"))
        #expect(segment.compactMap { $0["text"] as? String } == (0..<30).map { "live \($0)" }, "the stream's comments, in offset order")
        let offsets = segment.compactMap { $0["offsetMs"] as? Int }
        #expect(offsets == offsets.sorted() && offsets.allSatisfy { $0 >= 0 })
        #expect(segment.first?["id"] as? String == liked && segment.first?["likes"] as? Int == 1, "the like is kept")
        let later = Self.comments(try await httpRequest(port: second.port, method: "GET", path: "/v1/videos/show-1/segments/1"))
        #expect(later.compactMap { $0["text"] as? String } == ["later"])
        #expect(try await tokens.call(second.port, "POST", "/v1/videos/show-1/comments/\(liked)/likes", other).json["likes"] as? Int == 1,
                "the liker is remembered too")
        let next = try await tokens.call(second.port, "POST", "/v1/videos/show-1/comments", other, #"{"text":"after restart","offsetMs":1}"#)
        #expect(next.json["seq"] as? Int == 32, "numbering continues: \(next)")
        await second.stop()
    }
}
