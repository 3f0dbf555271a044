import DanmakuAuth
import DanmakuTestSupport
import Foundation
import Testing

/// Richer comments: `size` for everyone, the `pool` flag (subtitles, special comments) for the
/// room's staff only; fields left at their default are not written, so old clients see nothing new.
@Suite struct CommentStyleTests {
    func bearer(_ user: String, _ role: PosterRole, rooms: [String]? = nil) async throws -> String {
        "Bearer " + (try await TokenIssuer.sign(
            DanmakuClaims(user: user, name: user, role: role, expires: Date().addingTimeInterval(600), rooms: rooms), secret: AuthTests.secret))
    }

    /// The comments a viewer received, as JSON objects.
    func comments(_ viewer: TestViewer) -> [[String: Any]] {
        viewer.observed.value.messages.filter { $0["type"] as? String == "comments" }.flatMap { $0["comments"] as? [[String: Any]] ?? [] }
    }

    @Test func sizeAndPoolReachViewersAndOnlyStaffMayUsePool() async throws {
        try await withServer({ $0.jwtSecret = AuthTests.secret }) { _, port in
            let viewer = try await TestViewer.join(port: port, room: "styled")
            let fan = try await bearer("fan", .viewer), star = try await bearer("star", .streamer, rooms: ["styled"])
            let unscoped = try await bearer("drifter", .streamer), elsewhere = try await bearer("guest", .streamer, rooms: ["other", "styled"])
            func post(_ json: String, as token: String) async throws -> HTTPReply {
                try await jsonRequest(port: port, "POST", "/v1/rooms/styled/comments", authorization: token, json)
            }
            #expect(try await post(#"{"text":"big","size":"large"}"#, as: fan).status == 201)
            #expect(try await post(#"{"text":"plain","size":"normal"}"#, as: fan).status == 201)
            let badSize = try await post(#"{"text":"huge","size":"huge"}"#, as: fan)
            #expect(badSize.status == 400 && badSize.errorCode == "invalid_size")
            let notStaff = try await post(#"{"text":"subtitle","pool":true}"#, as: fan)
            #expect(notStaff.status == 403 && notStaff.errorCode == "pool_not_allowed")
            // A streamer is staff of the rooms its token names, not of every room it may post in.
            #expect(try await post(#"{"text":"not mine","pool":true}"#, as: unscoped).errorCode == "pool_not_allowed")
            #expect(try await post(#"{"text":"guest","pool":true}"#, as: elsewhere).status == 201, "named in its rooms")
            #expect(try await post(#"{"text":"subtitle","pool":true,"mode":"bottom"}"#, as: star).status == 201)

            try await viewer.waitForComments(4)
            let received = comments(viewer)
            #expect(received.map { $0["text"] as? String } == ["big", "plain", "guest", "subtitle"])
            #expect(received[0]["size"] as? String == "large" && received[0]["pool"] == nil)
            #expect(received[1]["size"] == nil && received[1]["pool"] == nil, "defaults are left out")
            #expect(received[3]["pool"] as? Bool == true && received[3]["mode"] as? String == "bottom")
            await viewer.close()
        }
    }
}
