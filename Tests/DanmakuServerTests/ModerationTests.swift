import DanmakuAuth
import DanmakuServer
import DanmakuTestSupport
import Foundation
import Testing

/// The moderation API over real sockets: who may do what, and what bans and slow mode do to posts.
@Suite struct ModerationTests {
    static let secret = AuthTests.secret

    func bearer(_ user: String, _ role: PosterRole, rooms: [String]? = nil) async throws -> String {
        "Bearer " + (try await TokenIssuer.sign(
            DanmakuClaims(user: user, name: user, role: role, expires: Date().addingTimeInterval(600), rooms: rooms), secret: Self.secret))
    }

    func call(_ port: Int, _ method: String, _ path: String, _ authorization: String?, _ json: String = "") async throws -> HTTPReply {
        try await jsonRequest(port: port, method, path, authorization: authorization, json)
    }

    func post(_ port: Int, room: String, as authorization: String, _ text: String) async throws -> HTTPReply {
        try await call(port, "POST", "/v1/rooms/\(room)/comments", authorization, #"{"text":"\#(text)"}"#)
    }

    @Test func moderatorsBanAndUnbanAndOnlyTheyMay() async throws {
        try await withServer({ $0.jwtSecret = Self.secret }) { _, port in
            let troll = try await bearer("troll", .viewer)
            let moderator = try await bearer("mod", .moderator)
            #expect(try await post(port, room: "r", as: troll, "first").status == 201)

            let byViewer = try await call(port, "POST", "/v1/rooms/r/bans", troll, #"{"user":"mod","seconds":60}"#)
            #expect(byViewer.status == 403 && byViewer.errorCode == "forbidden")
            let anonymous = try await call(port, "POST", "/v1/rooms/r/bans", nil, #"{"user":"troll","seconds":60}"#)
            #expect(anonymous.status == 401 && anonymous.errorCode == "missing_token")
            let badBody = try await call(port, "POST", "/v1/rooms/r/bans", moderator, #"{"user":"troll","seconds":0}"#)
            #expect(badBody.status == 400 && badBody.errorCode == "invalid_seconds")

            let ban = try await call(port, "POST", "/v1/rooms/r/bans", moderator, #"{"user":"troll","seconds":60}"#)
            #expect(ban.status == 200 && ban.json["bannedSeconds"] as? Int == 60, "\(ban)")
            let refused = try await post(port, room: "r", as: troll, "again")
            #expect(refused.status == 403 && refused.errorCode == "banned", "\(refused)")
            #expect(Int(refused.headers["retry-after"] ?? "") ?? 0 > 50)
            #expect(try await post(port, room: "elsewhere", as: troll, "other room").status == 201, "a ban is per room")

            let unban = try await call(port, "DELETE", "/v1/rooms/r/bans/troll", moderator)
            #expect(unban.status == 200)
            #expect(try await post(port, room: "r", as: troll, "reformed").status == 201)
        }
    }

    @Test func streamersSetSlowModeInTheirOwnRoomsOnly() async throws {
        try await withServer({ $0.jwtSecret = Self.secret }) { _, port in
            let streamer = try await bearer("star", .streamer, rooms: ["stage"])
            let viewer = try await bearer("fan", .viewer)
            let elsewhere = try await call(port, "PUT", "/v1/rooms/other/settings", streamer, #"{"slowModeSeconds":30}"#)
            #expect(elsewhere.status == 403)
            let tooSlow = try await call(port, "PUT", "/v1/rooms/stage/settings", streamer, #"{"slowModeSeconds":100000}"#)
            #expect(tooSlow.status == 400)
            let set = try await call(port, "PUT", "/v1/rooms/stage/settings", streamer, #"{"slowModeSeconds":30}"#)
            #expect(set.status == 200 && set.json["slowModeSeconds"] as? Int == 30)
            let read = try await call(port, "GET", "/v1/rooms/stage/settings", nil)
            #expect(read.json["slowModeSeconds"] as? Int == 30, "settings are public")

            #expect(try await post(port, room: "stage", as: viewer, "one").status == 201)
            let second = try await post(port, room: "stage", as: viewer, "two")
            #expect(second.status == 429 && second.errorCode == "slow_mode" && second.headers["retry-after"] != nil, "\(second)")
            // A refused post did not count: the first post's clock still runs; other users are not held.
            #expect(try await post(port, room: "stage", as: try await bearer("other", .viewer), "hello").status == 201)
        }
    }

    @Test func aRoomRateCapsEveryoneInThatRoom() async throws {
        try await withServer({ $0.jwtSecret = Self.secret }) { _, port in
            let streamer = try await bearer("star", .streamer, rooms: ["calm"])
            #expect(try await call(port, "PUT", "/v1/rooms/calm/settings", streamer, #"{"rate":"fast"}"#).errorCode == "invalid_rate")
            let set = try await call(port, "PUT", "/v1/rooms/calm/settings", streamer, #"{"slowModeSeconds":0,"rate":"0.1/3"}"#)
            #expect(set.status == 200 && set.json["rate"] as? String == "0.1/3", "\(set)")
            var statuses: [Int] = []
            for index in 0..<5 {
                statuses.append(try await post(port, room: "calm", as: try await bearer("user\(index)", .viewer), "hi").status)
            }
            #expect(statuses == [201, 201, 201, 429, 429], "three different users fill the room's burst of 3")
            let refused = try await post(port, room: "calm", as: try await bearer("late", .viewer), "hi")
            #expect(refused.errorCode == "rate_limited" && Int(refused.headers["retry-after"] ?? "") ?? 0 >= 1)
            #expect(try await post(port, room: "busy", as: try await bearer("late", .viewer), "hi").status == 201, "other rooms are not held")
        }
    }

    @Test func adminsReplaceTheWordListAtRunTime() async throws {
        try await withServer({ $0.jwtSecret = Self.secret }) { _, port in
            let admin = try await bearer("root", .admin)
            let user = try await bearer("u", .viewer)
            #expect(try await post(port, room: "r", as: user, "pineapple pizza").status == 201)
            let scoped = try await call(port, "PUT", "/v1/words", try await bearer("m", .moderator, rooms: ["r"]), #"{"words":["pineapple"]}"#)
            #expect(scoped.status == 403, "a room-scoped moderator cannot change the node's list")
            let replaced = try await call(port, "PUT", "/v1/words", admin, #"{"words":["pineapple"]}"#)
            #expect(replaced.status == 200 && replaced.json["words"] as? Int == 1)
            let filtered = try await post(port, room: "r", as: user, "more PINEAPPLE please")
            #expect(filtered.status == 422 && filtered.errorCode == "filtered")
        }
    }

    @Test func aRetractedCommentLeavesHistoryAndViewersAreTold() async throws {
        try await withServer({ $0.jwtSecret = Self.secret }) { _, port in
            let viewer = try await TestViewer.join(port: port, room: "r")
            let user = try await bearer("u", .viewer)
            var ids: [String] = []
            for text in ["fine", "regrettable", "also fine"] {
                let reply = try await post(port, room: "r", as: user, text)
                ids.append(try #require(reply.json["id"] as? String))
            }
            try await viewer.waitForComments(3)
            let other = try await bearer("v", .viewer)
            #expect(try await call(port, "DELETE", "/v1/rooms/r/comments/\(ids[1])", other).status == 403, "viewers cannot retract others' comments")
            let streamer = try await bearer("star", .streamer, rooms: ["r"])
            let retracted = try await call(port, "DELETE", "/v1/rooms/r/comments/\(ids[1])", streamer)
            #expect(retracted.status == 200 && retracted.json["seq"] as? Int == 2, "\(retracted)")
            try await viewer.observed.wait(for: "retract") { $0.messages.contains { $0["type"] as? String == "retract" } }
            let message = viewer.observed.value.messages.first { $0["type"] as? String == "retract" }
            #expect(message?["id"] as? String == ids[1] && message?["seq"] as? Int == 2 && message?["room"] as? String == "r")
            let history = try await httpRequest(port: port, method: "GET", path: "/v1/rooms/r/comments?since=0")
            #expect((history.json["comments"] as? [[String: Any]])?.compactMap { $0["seq"] as? Int } == [1, 3])
            let resumed = try await TestViewer.join(port: port, room: "r", since: 1)
            try await resumed.waitForComments(1)
            #expect(resumed.observed.value.seqs == [3], "resuming skips the retracted comment")
            #expect(try await call(port, "DELETE", "/v1/rooms/r/comments/\(ids[1])", streamer).errorCode == "not_found")
            #expect(try await call(port, "DELETE", "/v1/rooms/r/comments/no%20such", streamer).errorCode == "not_found")
            await viewer.close()
            await resumed.close()
        }
    }

    enum Bus: String, CaseIterable, Sendable { case memory, redis }

    /// A viewer away (reconnecting) while a comment it shows is retracted is told on its resume:
    /// history skips the seq, and the resume brings the `retract` it missed.
    @Test(arguments: Bus.allCases) func aViewerAwayWhileACommentIsRetractedIsToldWhenItResumes(bus: Bus) async throws {
        func run(_ port: Int) async throws {
            let user = try await bearer("u", .viewer)
            let streamer = try await bearer("star", .streamer, rooms: ["away"])
            let viewer = try await TestViewer.join(port: port, room: "away")
            var ids: [String] = []
            for text in ["fine", "regrettable", "also fine"] {
                ids.append(try #require(try await post(port, room: "away", as: user, text).json["id"] as? String))
            }
            try await viewer.waitForComments(3)
            await viewer.close()
            // While it is away: one of the comments it shows goes, and a new one comes.
            #expect(try await call(port, "DELETE", "/v1/rooms/away/comments/\(ids[1])", streamer).status == 200)
            #expect(try await post(port, room: "away", as: user, "later").status == 201)
            let resumed = try await TestViewer.join(port: port, room: "away", since: 3)
            try await resumed.waitForComments(1)
            try await resumed.observed.wait(for: "retract") { $0.messages.contains { $0["type"] as? String == "retract" } }
            let retracts = resumed.observed.value.messages.filter { $0["type"] as? String == "retract" }
            #expect(retracts.count == 1 && retracts.first?["id"] as? String == ids[1] && retracts.first?["seq"] as? Int == 2)
            #expect(resumed.observed.value.seqs == [4])
            // A viewer resuming from before the comment gets it skipped, and no retract it cannot use.
            let fromStart = try await TestViewer.join(port: port, room: "away", since: 1)
            try await fromStart.waitForComments(2)
            #expect(fromStart.observed.value.seqs == [3, 4])
            #expect(!fromStart.observed.value.messages.contains { $0["type"] as? String == "retract" })
            await resumed.close()
            await fromStart.close()
        }
        switch bus {
        case .memory:
            try await withServer({ $0.jwtSecret = Self.secret }) { _, port in try await run(port) }
        case .redis:
            try await RedisServer.with { redis in
                try await withServer({
                    $0.jwtSecret = Self.secret
                    $0.bus = BusChoice(redis.url)!
                }) { _, port in try await run(port) }
            }
        }
    }

    @Test func openModeHasNoModeration() async throws {
        try await withServer { _, port in
            let reply = try await call(port, "POST", "/v1/rooms/r/bans", nil, #"{"user":"x","seconds":60}"#)
            #expect(reply.status == 403 && reply.errorCode == "moderation_needs_tokens")
        }
    }

    @Test func anAuthorRecallsTheirOwnCommentAndNoOneElses() async throws {
        try await withServer({
            $0.jwtSecret = Self.secret
            // Wide enough that the first steps fit in it on a machine busy with the other suites
            // (4 s has not been).
            $0.logic.recallSeconds = 10
        }) { _, port in
            let viewer = try await TestViewer.join(port: port, room: "rc")
            let author = try await bearer("author", .viewer)
            let other = try await bearer("other", .viewer)
            let first = try #require(try await post(port, room: "rc", as: author, "oops").json["id"] as? String)
            let second = try #require(try await post(port, room: "rc", as: author, "meant it").json["id"] as? String)
            try await viewer.waitForComments(2)
            let stranger = try await call(port, "DELETE", "/v1/rooms/rc/comments/\(first)", other)
            #expect(stranger.status == 403 && stranger.errorCode == "forbidden", "\(stranger)")
            #expect(try await call(port, "DELETE", "/v1/rooms/rc/comments/\(first)", nil).errorCode == "missing_token")
            let recalled = try await call(port, "DELETE", "/v1/rooms/rc/comments/\(first)", author)
            #expect(recalled.status == 200 && recalled.json["seq"] as? Int == 1, "\(recalled)")
            try await viewer.observed.wait(for: "retract") { $0.messages.contains { $0["type"] as? String == "retract" && $0["id"] as? String == first } }
            // The window's end is CommentPostingTests.anAuthorMayRecallOnlyWithinTheWindow's (stored
            // ages instead of waiting it out).
            let history = try await httpRequest(port: port, method: "GET", path: "/v1/rooms/rc/comments?since=0")
            #expect((history.json["comments"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == [second])
            await viewer.close()
        }
    }

    @Test func inOpenModeARecallComesFromTheAddressThatPosted() async throws {
        try await withServer { _, port in
            let id = try #require(try await postComment(port: port, room: "ro", json: #"{"text":"take me back"}"#).json["id"] as? String)
            let recalled = try await call(port, "DELETE", "/v1/rooms/ro/comments/\(id)", nil)
            #expect(recalled.status == 200, "\(recalled)")
            #expect(try await call(port, "DELETE", "/v1/rooms/ro/comments/\(id)", nil).errorCode == "not_found")
        }
    }
}
