import DanmakuAuth
import DanmakuServer
import DanmakuTestSupport
import Foundation
import Testing

/// Reports over real sockets: viewers report once each, the room's staff (and only they) read the
/// queue and act on it, and enough reports hide a comment pending review.
@Suite struct ReportsTests {
    func bearer(_ user: String, _ role: PosterRole = .viewer, rooms: [String]? = nil) async throws -> String {
        "Bearer " + (try await TokenIssuer.sign(
            DanmakuClaims(user: user, name: user, role: role, expires: Date().addingTimeInterval(600), rooms: rooms), secret: AuthTests.secret))
    }

    func call(_ port: Int, _ method: String, _ path: String, _ authorization: String?, _ json: String = "") async throws -> HTTPReply {
        try await jsonRequest(port: port, method, path, authorization: authorization, json)
    }

    /// Posts `text` to `room` as `token`: the comment's id and seq.
    func post(_ port: Int, _ room: String, _ token: String, _ text: String) async throws -> (id: String, seq: Int) {
        let reply = try await call(port, "POST", "/v1/rooms/\(room)/comments", token, #"{"text":"\#(text)"}"#)
        return (try #require(reply.json["id"] as? String), try #require(reply.json["seq"] as? Int))
    }

    /// The memory bus, and the archive on disk.
    static let stores: [Bool] = [false, true]

    func withReportServer(archive: Bool, _ adjust: @escaping (inout ServerConfiguration) -> Void = { _ in }, _ body: (Int) async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("danmaku-reports-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        try await withServer({
            $0.jwtSecret = AuthTests.secret
            if archive { $0.dataDirectory = directory.path }
            adjust(&$0)
        }) { _, port in try await body(port) }
    }

    @Test(arguments: stores) func viewersReportOnceAndStaffRemoveFromTheQueue(archive: Bool) async throws {
        try await withReportServer(archive: archive) { port in
            let (ann, bob, troll) = (try await bearer("ann"), try await bearer("bob"), try await bearer("troll"))
            let staff = try await bearer("star", .streamer, rooms: ["rr"])
            let bad = try await post(port, "rr", troll, "buy followers")
            let meh = try await post(port, "rr", troll, "first")
            let viewer = try await TestViewer.join(port: port, room: "rr", since: 0)
            try await viewer.waitForComments(2)

            let filed = try await call(port, "POST", "/v1/rooms/rr/comments/\(bad.id)/reports", ann, #"{"reason":"spam","text":"ads","seq":\#(bad.seq)}"#)
            #expect(filed.status == 200 && filed.json["reporters"] as? Int == 1 && filed.json["hidden"] as? Bool == false, "\(filed)")
            let again = try await call(port, "POST", "/v1/rooms/rr/comments/\(bad.id)/reports", ann, #"{"reason":"abuse"}"#)
            #expect(again.status == 409 && again.errorCode == "already_reported", "\(again)")
            #expect(try await call(port, "POST", "/v1/rooms/rr/comments/\(bad.id)/reports", bob, #"{"reason":"abuse"}"#).json["reporters"] as? Int == 2,
                    "found without a seq too")
            #expect(try await call(port, "POST", "/v1/rooms/rr/comments/\(meh.id)/reports", bob, #"{"reason":"off_topic","seq":\#(meh.seq)}"#).status == 200)

            // Only the room's staff read the queue.
            #expect(try await call(port, "GET", "/v1/rooms/rr/reports", nil).errorCode == "missing_token")
            #expect(try await call(port, "GET", "/v1/rooms/rr/reports", ann).errorCode == "forbidden")
            #expect(try await call(port, "GET", "/v1/rooms/rr/reports", try await bearer("other", .streamer, rooms: ["elsewhere"])).status == 403)
            let queue = try await call(port, "GET", "/v1/rooms/rr/reports", staff)
            let comments = try #require(queue.json["comments"] as? [[String: Any]], "\(queue)")
            #expect(comments.compactMap { $0["id"] as? String } == [bad.id, meh.id], "most reported first")
            #expect(comments.first?["reporters"] as? Int == 2 && comments.first?["text"] as? String == "buy followers")
            #expect((comments.first?["user"] as? [String: Any])?["id"] as? String == "troll")
            #expect((comments.first?["reports"] as? [[String: Any]])?.compactMap { $0["reason"] as? String } == ["abuse", "spam"])
            #expect(try await call(port, "GET", "/v1/rooms/rr/reports?limit=1", staff).json["comments"].map { ($0 as? [Any])?.count } == 1)

            // Acting: only staff; remove is the retraction.
            #expect(try await call(port, "POST", "/v1/rooms/rr/reports/\(bad.id)", ann, #"{"action":"remove"}"#).errorCode == "forbidden")
            let removed = try await call(port, "POST", "/v1/rooms/rr/reports/\(bad.id)", staff, #"{"action":"remove"}"#)
            #expect(removed.status == 200 && removed.json["removed"] as? Bool == true && removed.json["action"] as? String == "remove", "\(removed)")
            try await viewer.observed.wait(for: "retract") { state in
                state.messages.contains { $0["type"] as? String == "retract" && $0["id"] as? String == bad.id && $0["reason"] == nil }
            }
            let history = try await call(port, "GET", "/v1/rooms/rr/comments?since=0", nil)
            #expect((history.json["comments"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == [meh.id])
            #expect(try await call(port, "POST", "/v1/rooms/rr/reports/\(bad.id)", staff, #"{"action":"dismiss"}"#).errorCode == "not_found", "acted on already")
            let dismissed = try await call(port, "POST", "/v1/rooms/rr/reports/\(meh.id)", staff, #"{"action":"dismiss"}"#)
            #expect(dismissed.status == 200 && dismissed.json["removed"] as? Bool == false)
            #expect((try await call(port, "GET", "/v1/rooms/rr/reports", staff).json["comments"] as? [Any])?.isEmpty == true)
            #expect(try await call(port, "GET", "/v1/rooms/rr/comments?since=0", nil).json["comments"].map { ($0 as? [Any])?.count } == 1, "dismiss keeps it")
            await viewer.close()
        }
    }

    @Test(arguments: stores) func enoughReportsHideACommentPendingReview(archive: Bool) async throws {
        try await withReportServer(archive: archive) { port in
            let staff = try await bearer("mod", .moderator, rooms: ["hide"])
            #expect(try await call(port, "PATCH", "/v1/rooms/hide/settings", staff, #"{"reportsToHide":2}"#).json["reportsToHide"] as? Int == 2)
            let troll = try await bearer("troll")
            let comment = try await post(port, "hide", troll, "the ending: everyone dies")
            let viewer = try await TestViewer.join(port: port, room: "hide", since: 0)
            try await viewer.waitForComments(1)
            let first = try await call(port, "POST", "/v1/rooms/hide/comments/\(comment.id)/reports", try await bearer("ann"), #"{"reason":"spoiler"}"#)
            #expect(first.json["hidden"] as? Bool == false)
            let second = try await call(port, "POST", "/v1/rooms/hide/comments/\(comment.id)/reports", try await bearer("bob"), #"{"reason":"spoiler"}"#)
            #expect(second.json["hidden"] as? Bool == true && second.json["reporters"] as? Int == 2, "\(second)")
            try await viewer.observed.wait(for: "retract, reported") { state in
                state.messages.contains { $0["type"] as? String == "retract" && $0["id"] as? String == comment.id && $0["reason"] as? String == "reported" }
            }
            #expect((try await call(port, "GET", "/v1/rooms/hide/comments?since=0", nil).json["comments"] as? [Any])?.isEmpty == true)
            let queue = try await call(port, "GET", "/v1/rooms/hide/reports", staff)
            #expect((queue.json["comments"] as? [[String: Any]])?.first?["hidden"] as? Bool == true, "still in the queue, for review")
            let third = try await call(port, "POST", "/v1/rooms/hide/comments/\(comment.id)/reports", try await bearer("cid"), #"{"reason":"spoiler"}"#)
            #expect(third.json["hidden"] as? Bool == true && third.json["reporters"] as? Int == 3, "reported from the queue's copy once out of history: \(third)")
            let banned = try await call(port, "POST", "/v1/rooms/hide/reports/\(comment.id)", staff, #"{"action":"ban","seconds":600}"#)
            #expect(banned.status == 200 && banned.json["banned"] as? String == "troll" && banned.json["removed"] as? Bool == false, "\(banned)")
            let refused = try await call(port, "POST", "/v1/rooms/hide/comments", troll, #"{"text":"again"}"#)
            #expect(refused.errorCode == "banned")
            for value in ["-1", "101", "1.5", #""2""#] {
                #expect(try await call(port, "PATCH", "/v1/rooms/hide/settings", staff, #"{"reportsToHide":\#(value)}"#).errorCode == "invalid_reportsToHide")
            }
            await viewer.close()
        }
    }

    /// Reports cannot be turned against the room: a banned user's do not count, an author cannot
    /// report their own comment, and the staff's comments are queued but never hidden by viewers.
    @Test(arguments: stores) func bannedUsersOwnCommentsAndStaffCommentsAreNotHidingMaterial(archive: Bool) async throws {
        try await withReportServer(archive: archive) { port in
            let staff = try await bearer("mod", .moderator, rooms: ["guard"])
            #expect(try await call(port, "PATCH", "/v1/rooms/guard/settings", staff, #"{"reportsToHide":1}"#).status == 200)
            let (ann, troll) = (try await bearer("ann"), try await bearer("troll"))
            let annsComment = try await post(port, "guard", ann, "a fair point")
            #expect(try await call(port, "POST", "/v1/rooms/guard/bans", staff, #"{"user":"troll","seconds":600}"#).status == 200)
            let banned = try await call(port, "POST", "/v1/rooms/guard/comments/\(annsComment.id)/reports", troll, #"{"reason":"abuse"}"#)
            #expect(banned.status == 403 && banned.errorCode == "banned", "\(banned)")
            let own = try await call(port, "POST", "/v1/rooms/guard/comments/\(annsComment.id)/reports", ann, #"{"reason":"spam"}"#)
            #expect(own.status == 403 && own.errorCode == "forbidden", "\(own)")
            let staffComment = try await post(port, "guard", staff, "welcome, be kind")
            let onStaff = try await call(port, "POST", "/v1/rooms/guard/comments/\(staffComment.id)/reports", ann, #"{"reason":"abuse"}"#)
            #expect(onStaff.status == 200 && onStaff.json["hidden"] as? Bool == false && onStaff.json["reporters"] as? Int == 1, "\(onStaff)")
            let history = try await call(port, "GET", "/v1/rooms/guard/comments?since=0", nil)
            #expect((history.json["comments"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == [annsComment.id, staffComment.id])
            let queue = try await call(port, "GET", "/v1/rooms/guard/reports", staff)
            #expect((queue.json["comments"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == [staffComment.id], "queued for review")
        }
    }

    @Test func badReportsAreRefusedWithACode() async throws {
        try await withReportServer(archive: false, { $0.logic.reportLimit = .init(perSecond: 0.01, burst: 3) }) { port in
            let ann = try await bearer("ann")
            let staff = try await bearer("star", .streamer, rooms: ["bad"])
            let comment = try await post(port, "bad", try await bearer("u"), "hello")
            func report(_ body: String, id: String? = nil, as token: String? = nil) async throws -> HTTPReply {
                try await call(port, "POST", "/v1/rooms/bad/comments/\(id ?? comment.id)/reports", token ?? ann, body)
            }
            #expect(try await call(port, "POST", "/v1/rooms/bad/comments/\(comment.id)/reports", nil, #"{"reason":"spam"}"#).errorCode == "missing_token")
            for body in [#"{"reason":"boring"}"#, #"{}"#, #"{"reason":5}"#] { #expect(try await report(body).errorCode == "invalid_reason", "\(body)") }
            let long = String(repeating: "é", count: 251)
            #expect(try await report(#"{"reason":"other","text":"\#(long)"}"#).errorCode == "invalid_text")
            for seq in ["0", "-1", "1.5", "99999999999999999999999"] {
                #expect(try await report(#"{"reason":"spam","seq":\#(seq)}"#).errorCode == "invalid_seq", "\(seq)")
            }
            #expect(try await report("nonsense").errorCode == "invalid_json")
            // Bad requests above were refused before they counted: the budget of 3 is whole.
            #expect(try await report(#"{"reason":"spam","seq":5}"#).errorCode == "not_found", "seq 5 is no comment")
            #expect(try await report(#"{"reason":"spam"}"#, id: "not-a-comment").errorCode == "not_found")
            #expect(try await report(#"{"reason":"spam"}"#).status == 200)
            let limited = try await report(#"{"reason":"spam"}"#, as: try await bearer("ann"))
            #expect(limited.status == 429 && limited.errorCode == "rate_limited" && limited.headers["retry-after"] != nil, "\(limited)")
            #expect((limited.json["error"] as? [String: Any])?["message"].map { "\($0)".contains("reports") } == true)

            #expect(try await call(port, "POST", "/v1/rooms/bad/reports/\(comment.id)", staff, #"{"action":"delete"}"#).errorCode == "invalid_action")
            #expect(try await call(port, "POST", "/v1/rooms/bad/reports/\(comment.id)", staff, #"{"action":"ban","seconds":0}"#).errorCode == "invalid_seconds")
            #expect(try await call(port, "POST", "/v1/rooms/bad/reports/nope", staff, #"{"action":"dismiss"}"#).errorCode == "not_found")
            #expect(try await call(port, "GET", "/v1/rooms/bad/reports?limit=0", staff).errorCode == "invalid_limit")
        }
        try await withServer { _, port in
            let reply = try await jsonRequest(port: port, "GET", "/v1/rooms/open/reports", authorization: nil)
            #expect(reply.status == 403 && reply.errorCode == "moderation_needs_tokens")
        }
    }

    @Test(arguments: stores) func aVideosCommentIsReportedAndItsAuthorBanned(archive: Bool) async throws {
        try await withReportServer(archive: archive) { port in
            let staff = try await bearer("star", .streamer, rooms: ["film"])
            let troll = try await bearer("troll")
            #expect(try await call(port, "POST", "/v1/videos/film/comments", staff, #"{"text":"welcome","offsetMs":0}"#).status == 201)
            let posted = try await call(port, "POST", "/v1/videos/film/comments", troll, #"{"text":"spoiler!","offsetMs":1000}"#)
            let id = try #require(posted.json["id"] as? String)
            let filed = try await call(port, "POST", "/v1/videos/film/comments/\(id)/reports", try await bearer("ann"), #"{"reason":"spoiler"}"#)
            #expect(filed.status == 200 && filed.json["reporters"] as? Int == 1, "\(filed)")
            #expect(try await call(port, "GET", "/v1/rooms/film/reports", staff).json["comments"].map { ($0 as? [Any])?.count } == 0, "the room's queue is apart")
            let queue = try await call(port, "GET", "/v1/videos/film/reports", staff)
            let entry = try #require((queue.json["comments"] as? [[String: Any]])?.first, "\(queue)")
            #expect(entry["offsetMs"] as? Int == 1000 && queue.json["video"] as? String == "film")
            let banned = try await call(port, "POST", "/v1/videos/film/reports/\(id)", staff, #"{"action":"ban"}"#)
            #expect(banned.json["removed"] as? Bool == true && banned.json["banned"] as? String == "troll", "\(banned)")
            let segment = try await call(port, "GET", "/v1/videos/film/segments/0", nil)
            #expect((segment.json["comments"] as? [[String: Any]])?.compactMap { $0["text"] as? String } == ["welcome"])
            #expect(try await call(port, "POST", "/v1/videos/film/comments", troll, #"{"text":"again","offsetMs":5}"#).errorCode == "banned")
        }
    }
}
