import DanmakuAuth
import DanmakuTestSupport
import Foundation
import Testing

/// Notices from backends and streamers' tools: numbered with the room's comments, in the same
/// batches, kept in history; and broadcasts to every room.
@Suite struct NoticeTests {
    let tokens = ModerationTests()

    func items(_ state: TestViewer.State, room: String) -> [[String: Any]] {
        state.messages.filter { $0["type"] as? String == "comments" && $0["room"] as? String == room }
            .flatMap { $0["comments"] as? [[String: Any]] ?? [] }
    }

    @Test func noticesTakeTheNextSeqAndOnlyPrivilegedTokensMayPostThem() async throws {
        try await withServer({ $0.jwtSecret = ModerationTests.secret; $0.ingest.maxBodyBytes = 16 * 1024 }) { _, port in
            let streamer = try await tokens.bearer("star", .streamer, rooms: ["nt"])
            let otherStreamer = try await tokens.bearer("other", .streamer, rooms: ["elsewhere"])
            let viewerToken = try await tokens.bearer("fan", .viewer)
            let viewer = try await TestViewer.join(port: port, room: "nt")
            try await viewer.observed.wait(for: "hello") { $0.messages.contains { $0["type"] as? String == "hello" } }

            #expect(try await tokens.post(port, room: "nt", as: viewerToken, "before the gift").status == 201)
            let gift = #"{"kind":"gift","from":"fan","item":"rocket","count":3,"ts":1}"#
            let posted = try await tokens.call(port, "POST", "/v1/rooms/nt/notices", streamer, gift)
            #expect(posted.status == 201, "\(posted)")
            #expect(posted.json["seq"] as? Int == 2 && posted.json["room"] as? String == "nt")
            #expect(try await tokens.post(port, room: "nt", as: streamer, "thanks!").status == 201)

            try await viewer.observed.wait(for: "three items") { items($0, room: "nt").count == 3 }
            let received = items(viewer.observed.value, room: "nt")
            #expect(received.compactMap { $0["seq"] as? Int } == [1, 2, 3])
            let notice = received[1]
            #expect(notice["kind"] as? String == "notice")
            #expect((notice["payload"] as? [String: Any])?["item"] as? String == "rocket")
            #expect((notice["user"] as? [String: Any])?["role"] as? String == "streamer")
            #expect((received[2]["user"] as? [String: Any])?["role"] as? String == "streamer", "a streamer's comment says so")
            #expect((received[0]["user"] as? [String: Any])?["role"] == nil, "a viewer's does not")

            // History keeps it, with its seq.
            let history = try await httpRequest(port: port, method: "GET", path: "/v1/rooms/nt/comments?since=0").json
            #expect((history["comments"] as? [[String: Any]])?.map { $0["kind"] as? String ?? "comment" } == ["comment", "notice", "comment"])

            // Who may not, and what is not a notice.
            #expect(try await tokens.call(port, "POST", "/v1/rooms/nt/notices", viewerToken, gift).errorCode == "forbidden")
            #expect(try await tokens.call(port, "POST", "/v1/rooms/nt/notices", otherStreamer, gift).errorCode == "forbidden")
            #expect(try await tokens.call(port, "POST", "/v1/rooms/nt/notices", nil, gift).errorCode == "missing_token")
            #expect(try await tokens.call(port, "POST", "/v1/rooms/nt/notices", streamer, "[1,2]").errorCode == "invalid_json")
            #expect(try await tokens.call(port, "POST", "/v1/rooms/nt/notices", streamer, "{nope").errorCode == "invalid_json")
            let huge = #"{"text":""# + String(repeating: "x", count: 5000) + #""}"#
            #expect(try await tokens.call(port, "POST", "/v1/rooms/nt/notices", streamer, huge).errorCode == "invalid_payload")
            #expect(try await tokens.call(port, "GET", "/v1/rooms/nt/notices", streamer).status == 405)

            // A notice can be taken back like a comment: out of history, off the screens.
            let id = posted.json["id"] as? String ?? ""
            let retracted = try await tokens.call(port, "DELETE", "/v1/rooms/nt/comments/\(id)", streamer)
            #expect(retracted.status == 200 && retracted.json["seq"] as? Int == 2, "\(retracted)")
            try await viewer.observed.wait(for: "the retraction") { $0.messages.contains { $0["type"] as? String == "retract" && $0["seq"] as? Int == 2 } }
            let after = try await httpRequest(port: port, method: "GET", path: "/v1/rooms/nt/comments?since=0").json
            #expect((after["comments"] as? [[String: Any]])?.compactMap { $0["seq"] as? Int } == [1, 3])
            await viewer.close()
        }
    }

    @Test func anAdminBroadcastReachesEveryRoomWithViewers() async throws {
        try await withServer({ $0.jwtSecret = ModerationTests.secret; $0.presenceInterval = .milliseconds(100) }) { _, port in
            let admin = try await tokens.bearer("root", .admin)
            let moderator = try await tokens.bearer("mod", .moderator)
            let viewers = try await ["bc-1", "bc-2", "bc-3"].asyncMap { try await TestViewer.join(port: port, room: $0) }
            try await eventually("three rooms online") {
                let top = try await httpRequest(port: port, method: "GET", path: "/v1/rooms?top=10").json
                return (top["rooms"] as? [[String: Any]])?.count == 3
            }
            #expect(try await tokens.call(port, "POST", "/v1/broadcast", moderator, #"{"text":"maintenance"}"#).errorCode == "forbidden")
            let sent = try await tokens.call(port, "POST", "/v1/broadcast", admin, #"{"text":"maintenance at 02:00"}"#)
            #expect(sent.status == 201, "\(sent)")
            #expect(Set((sent.json["notices"] as? [[String: Any]] ?? []).compactMap { $0["room"] as? String }) == ["bc-1", "bc-2", "bc-3"])
            for (viewer, room) in zip(viewers, ["bc-1", "bc-2", "bc-3"]) {
                try await viewer.observed.wait(for: "the broadcast") { state in
                    items(state, room: room).contains { ($0["payload"] as? [String: Any])?["text"] as? String == "maintenance at 02:00" }
                }
                await viewer.close()
            }
        }
    }
}
