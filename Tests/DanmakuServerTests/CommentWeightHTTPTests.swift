import DanmakuAuth
import DanmakuTestSupport
import Foundation
import Testing

/// The weight a comment is accepted with, over real sockets: from the token's `level`, lowered by
/// the author's removals and bans in the room, carried in history, live frames and segments.
@Suite struct CommentWeightHTTPTests {
    let tokens = ModerationTests()

    func bearer(_ user: String, level: Int? = nil, _ role: PosterRole = .viewer, rooms: [String]? = nil) async throws -> String {
        "Bearer " + (try await TokenIssuer.sign(
            DanmakuClaims(user: user, name: user, role: role, expires: Date().addingTimeInterval(600), rooms: rooms, level: level),
            secret: ModerationTests.secret))
    }

    /// Posts `text` to `room`: the reply.
    func post(_ port: Int, _ room: String, _ token: String, _ text: String) async throws -> HTTPReply {
        try await tokens.call(port, "POST", "/v1/rooms/\(room)/comments", token, #"{"text":"\#(text)"}"#)
    }

    /// The weight of each comment of `room`'s history, by text.
    func weights(_ port: Int, _ room: String) async throws -> [String: Int] {
        let history = try await tokens.call(port, "GET", "/v1/rooms/\(room)/comments?since=0", nil)
        let comments = try #require(history.json["comments"] as? [[String: Any]], "\(history)")
        return Dictionary(comments.compactMap { comment in (comment["text"] as? String).map { ($0, comment["weight"] as? Int ?? -1) } }, uniquingKeysWith: { $1 })
    }

    @Test func theLevelClaimWeighsACommentAndEveryCopyCarriesIt() async throws {
        try await withServer({ $0.jwtSecret = ModerationTests.secret }) { _, port in
            let viewer = try await TestViewer.join(port: port, room: "w", since: 0)
            for (text, token) in [
                ("lv6", try await bearer("a", level: 6)), ("lv0", try await bearer("b", level: 0)), ("none", try await bearer("c")),
                ("staff", try await bearer("s", level: 0, .moderator)),
            ] {
                #expect(try await post(port, "w", token, text).status == 201)
            }
            let expected = ["lv6": 7, "lv0": 1, "none": 5, "staff": 8]
            #expect(try await weights(port, "w") == expected)
            try await viewer.waitForComments(4)
            let live = viewer.observed.value.messages.flatMap { $0["comments"] as? [[String: Any]] ?? [] }
            #expect(Dictionary(live.compactMap { c in (c["text"] as? String).map { ($0, c["weight"] as? Int ?? -1) } }, uniquingKeysWith: { $1 }) == expected)

            for bad in [7, -1, 100] {
                let refused = try await post(port, "w", try await bearer("d", level: bad), "x")
                #expect(refused.status == 401 && refused.errorCode == "invalid_token", "\(bad): \(refused)")
            }

            // A video's comment carries it too, and `?minWeight=` counts it with the likes.
            let streamer = try await bearer("star", .streamer, rooms: ["film"])
            #expect(try await tokens.call(port, "POST", "/v1/videos/film/comments", streamer, #"{"text":"start","offsetMs":3600000}"#).status == 201)
            for (text, token) in [("high", try await bearer("a", level: 6)), ("low", try await bearer("b", level: 1))] {
                #expect(try await tokens.call(port, "POST", "/v1/videos/film/comments", token, #"{"text":"\#(text)","offsetMs":1000}"#).status == 201)
            }
            let segment = try await httpRequest(port: port, method: "GET", path: "/v1/videos/film/segments/0?minWeight=3", headers: [:])
            let kept = segment.json["comments"] as? [[String: Any]] ?? []
            #expect(kept.compactMap { $0["text"] as? String } == ["high"] && kept.first?["weight"] as? Int == 7, "\(segment)")
        }
    }

    @Test func removalsThroughReportsAndBansLowerTheNextComments() async throws {
        try await withServer({ $0.jwtSecret = ModerationTests.secret }) { _, port in
            let troll = try await bearer("troll", level: 5)
            let staff = try await bearer("star", .streamer, rooms: ["rr"])
            #expect(try await tokens.call(port, "PATCH", "/v1/rooms/rr/settings", staff, #"{"reportsToHide":1}"#).status == 200)
            let first = try await post(port, "rr", troll, "one")
            #expect(first.json["seq"] as? Int == 1)
            let id = try #require(first.json["id"] as? String)
            let filed = try await tokens.call(port, "POST", "/v1/rooms/rr/comments/\(id)/reports", try await bearer("ann"), #"{"reason":"spam","seq":1}"#)
            #expect(filed.json["hidden"] as? Bool == true, "\(filed)")
            _ = try await post(port, "rr", troll, "hidden by reports")
            #expect(try await weights(port, "rr")["hidden by reports"] == 6, "reports alone do not count against the author")
            let confirmed = try await tokens.call(port, "POST", "/v1/rooms/rr/reports/\(id)", staff, #"{"action":"remove"}"#)
            #expect(confirmed.status == 200, "\(confirmed)")
            _ = try await post(port, "rr", troll, "two")
            #expect(try await weights(port, "rr")["two"] == 5, "6 less one removal, once staff confirmed it")
            #expect(try await weights(port, "elsewhere").isEmpty)
            #expect(try await post(port, "elsewhere", troll, "other room").status == 201)
            #expect(try await weights(port, "elsewhere")["other room"] == 6, "the record is the room's")

            // A ban that has ended still counts; a lifted one does not.
            #expect(try await tokens.call(port, "POST", "/v1/rooms/rr/bans", staff, #"{"user":"troll","seconds":1}"#).status == 200)
            try await eventually("the ban ends") { try await post(port, "rr", troll, "three").status == 201 }
            #expect(try await weights(port, "rr")["three"] == 3, "6 less one removal, less two for the ban")
            #expect(try await tokens.call(port, "DELETE", "/v1/rooms/rr/bans/troll", staff).status == 200)
            _ = try await post(port, "rr", troll, "four")
            #expect(try await weights(port, "rr")["four"] == 5)
        }
    }
}
