import DanmakuAuth
import DanmakuTestSupport
import Foundation
import Testing

/// The durable archive (`--data-dir`), on the real binary: `kill -9` loses no accepted comment,
/// numbering continues after a restart, and streams replay by offset.
@Suite struct ArchiveTests {
    static let wideLimits = ["--user-rate", "100000/100000", "--ip-rate", "100000/100000", "--room-rate", "100000/100000", "--duplicate-window", "0"]
    let tokens = ModerationTests()

    func start(_ directory: URL) async throws -> DanmakuNode {
        try await DanmakuNode.start(["--data-dir", directory.path] + Self.wideLimits, environment: ["DANMAKU_JWT_SECRET": ModerationTests.secret])
    }

    @Test func killDashNineAfterFiveHundred201sLosesNoneAndNumberingContinues() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("danmaku-archive-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let streamer = try await tokens.bearer("star", .streamer, rooms: ["ar"])
        let viewer = try await tokens.bearer("fan", .viewer)

        let first = try await start(directory)
        let live = try await tokens.call(first.port, "POST", "/v1/rooms/ar/live", streamer)
        #expect(live.status == 200 && live.json["stream"] as? Int != nil && live.json["endedAt"] == nil, "\(live)")
        let port = first.port
        let answers = try await postConcurrently(500, inFlight: 32) { index in
            try await tokens.call(port, "POST", "/v1/rooms/ar/comments", viewer, #"{"text":"kept \#(index)"}"#)
        }
        // Killed the moment the last 201 is in: no chance to flush anything on the way out.
        await first.stop(signal: SIGKILL)
        #expect(answers.allSatisfy { $0.status == 201 })
        let accepted = Set(answers.compactMap { ($0.json["seq"] as? NSNumber)?.uint64Value })
        let acceptedIDs = Set(answers.compactMap { $0.json["id"] as? String })
        #expect(accepted == Set(1...500))

        let second = try await start(directory)
        let history = try await httpRequest(port: second.port, method: "GET", path: "/v1/rooms/ar/comments?since=0&limit=1000").json
        let stored = history["comments"] as? [[String: Any]] ?? []
        #expect(Set(stored.compactMap { ($0["seq"] as? NSNumber)?.uint64Value }) == accepted, "every 201 is back")
        #expect(Set(stored.compactMap { $0["id"] as? String }) == acceptedIDs)
        #expect(history["lastSeq"] as? Int == 500)
        let next = try await tokens.call(second.port, "POST", "/v1/rooms/ar/comments", viewer, #"{"text":"after the restart"}"#)
        #expect(next.status == 201 && next.json["seq"] as? Int == 501, "\(next)")
        // A viewer resuming across the restart gets what it missed.
        let resumed = try await TestViewer.join(port: second.port, room: "ar", since: 495)
        try await resumed.waitForComments(6)
        #expect(resumed.observed.value.seqs == [496, 497, 498, 499, 500, 501])
        await resumed.close()

        // The stream outlived the restart; ended, it replays in offset order.
        let ended = try await tokens.call(second.port, "DELETE", "/v1/rooms/ar/live", streamer)
        #expect(ended.status == 200 && ended.json["endedAt"] as? Int != nil, "\(ended)")
        #expect(try await tokens.call(second.port, "DELETE", "/v1/rooms/ar/live", streamer).errorCode == "not_live")
        let replay = try await httpRequest(port: second.port, method: "GET", path: "/v1/rooms/ar/replay?limit=5000").json
        let items = replay["comments"] as? [[String: Any]] ?? []
        #expect(items.count == 501)
        let offsets = items.compactMap { $0["offset"] as? Int }
        #expect(offsets == offsets.sorted() && (offsets.first ?? -1) >= 0, "in offset order, from the stream's start")
        #expect((items.last?["comment"] as? [String: Any])?["text"] as? String == "after the restart")
        // A window of offsets.
        try #require(offsets.count == 501)
        let cut = offsets[250]
        let window = try await httpRequest(port: second.port, method: "GET", path: "/v1/rooms/ar/replay?from=\(cut)&to=\(cut + 1)").json
        let windowOffsets = (window["comments"] as? [[String: Any]] ?? []).compactMap { $0["offset"] as? Int }
        #expect(!windowOffsets.isEmpty && windowOffsets.allSatisfy { $0 == cut })
        #expect(try await httpRequest(port: second.port, method: "GET", path: "/v1/rooms/ar/replay?from=x").errorCode == "invalid_from")
        // Past Int64.max once trapped an anonymous request's node; the largest values in range are
        // answered with what there is (nothing that far into the stream).
        #expect(try await httpRequest(port: second.port, method: "GET", path: "/v1/rooms/ar/replay?limit=9223372036854775808").errorCode == "invalid_limit")
        let far = try await httpRequest(port: second.port, method: "GET", path: "/v1/rooms/ar/replay?from=3153600000000&to=3153600000000&limit=5000")
        #expect(far.status == 200 && (far.json["comments"] as? [Any])?.isEmpty == true, "\(far)")
        #expect(try await httpRequest(port: second.port, method: "GET", path: "/v1/rooms/ar/replay?stream=9223372036854775806").errorCode == "no_stream")
        #expect(try await httpRequest(port: second.port, method: "GET", path: "/v1/rooms/nobody/replay").errorCode == "no_stream")
        #expect(try await tokens.call(second.port, "POST", "/v1/rooms/ar/live", viewer).errorCode == "forbidden")
        await second.stop()
    }

    @Test func withoutADataDirectoryThereIsNothingToReplay() async throws {
        try await withServer { _, port in
            let replay = try await httpRequest(port: port, method: "GET", path: "/v1/rooms/r/replay")
            #expect(replay.errorCode == "no_archive")
            // Starting a stream is for the room's staff: the caller is checked first, and in open
            // mode nobody is staff.
            let live = try await httpRequest(port: port, method: "POST", path: "/v1/rooms/r/live")
            #expect(live.errorCode == "moderation_needs_tokens")
        }
    }
}
