import DanmakuAuth
import DanmakuTestSupport
import Foundation
import Testing

/// Video pools over real sockets: comments pinned to offsets, fetched by six-minute segment with
/// an `ETag`, checked like live comments, liked once per user, taken back by their author or a
/// moderator, and capped per segment keeping the privileged and the liked.
@Suite struct VideoPoolTests {
    let tokens = ModerationTests()

    func post(_ port: Int, _ video: String, as token: String?, _ json: String) async throws -> HTTPReply {
        try await tokens.call(port, "POST", "/v1/videos/\(video)/comments", token, json)
    }

    func segment(_ port: Int, _ video: String, _ n: String, headers: [String: String] = [:]) async throws -> HTTPReply {
        try await httpRequest(port: port, method: "GET", path: "/v1/videos/\(video)/segments/\(n)", headers: headers)
    }

    /// Starts `video`'s pool as its staff do, with a comment in segment 10, out of the way.
    func start(_ port: Int, _ video: String) async throws {
        let streamer = try await tokens.bearer("star", .streamer, rooms: [video])
        let started = try await post(port, video, as: streamer, #"{"text":"welcome","offsetMs":3600000}"#)
        #expect(started.status == 201, "\(started)")
    }

    static func texts(_ reply: HTTPReply) -> [String] {
        (reply.json["comments"] as? [[String: Any]] ?? []).compactMap { $0["text"] as? String }
    }

    @Test func commentsComeBackBySegmentInOffsetOrder() async throws {
        try await withServer({ $0.jwtSecret = ModerationTests.secret }) { _, port in
            let fan = try await tokens.bearer("fan", .viewer)
            try await start(port, "movie")
            // Posted out of order, across two segments (the second starts at 360000 ms).
            for (offset, text) in [(5000, "five"), (1000, "one"), (370_000, "after six minutes"), (359_999, "last ms"), (1000, "one again")] {
                let created = try await post(port, "movie", as: fan, ##"{"text":"\##(text)","offsetMs":\##(offset),"color":"#ff0000"}"##)
                #expect(created.status == 201 && created.json["offsetMs"] as? Int == offset && created.json["video"] as? String == "movie", "\(created)")
            }
            let first = try await segment(port, "movie", "0")
            #expect(first.status == 200, "\(first)")
            #expect(Self.texts(first) == ["one", "one again", "five", "last ms"])
            #expect(first.json["from"] as? Int == 0 && first.json["to"] as? Int == 360_000 && first.json["segment"] as? Int == 0)
            let comment = try #require((first.json["comments"] as? [[String: Any]])?.first)
            #expect(comment["offsetMs"] as? Int == 1000 && comment["color"] as? String == "#ff0000" && (comment["user"] as? [String: Any])?["id"] as? String == "fan")
            #expect(Self.texts(try await segment(port, "movie", "1")) == ["after six minutes"])
            #expect(Self.texts(try await segment(port, "movie", "2")).isEmpty)
            #expect(Self.texts(try await segment(port, "other", "0")).isEmpty, "a video nobody commented on is an empty pool")
        }
    }

    @Test func everyBadVideoPostIsRefusedWithACode() async throws {
        try await withServer({ $0.jwtSecret = ModerationTests.secret; $0.logic.words = ["spam"] }) { _, port in
            let fan = try await tokens.bearer("fan", .viewer)
            let streamer = try await tokens.bearer("star", .streamer, rooms: ["film"])
            for body in [#"{"text":"hi"}"#, #"{"text":"hi","offsetMs":-1}"#, #"{"text":"hi","offsetMs":1.5}"#, #"{"text":"hi","offsetMs":"1"}"#,
                         #"{"text":"hi","offsetMs":99999999999999999999999}"#, #"{"text":"hi","offsetMs":3153600000001}"#] {
                let refused = try await post(port, "film", as: fan, body)
                #expect(refused.status == 400 && refused.errorCode == "invalid_offsetMs", "\(body): \(refused)")
            }
            #expect(try await post(port, "film", as: fan, #"{"offsetMs":1}"#).errorCode == "invalid_text")
            #expect(try await post(port, "film", as: fan, "nonsense").errorCode == "invalid_json")
            #expect(try await post(port, "film", as: fan, #"{"text":"buy spam","offsetMs":1}"#).errorCode == "filtered")
            #expect(try await post(port, "film", as: nil, #"{"text":"hi","offsetMs":1}"#).errorCode == "missing_token")
            #expect(try await post(port, "film", as: fan, #"{"text":"sub","offsetMs":1,"pool":true}"#).errorCode == "pool_not_allowed")
            #expect(try await post(port, "film", as: streamer, #"{"text":"sub","offsetMs":1,"pool":true}"#).status == 201, "the video's staff may")
            #expect(try await post(port, "bad.id", as: fan, #"{"text":"hi","offsetMs":1}"#).errorCode == "invalid_video")
            for n in ["x", "-1", "1.5", "99999999999999999999999", "8760001"] {
                let refused = try await segment(port, "film", n)
                #expect(refused.status == 400 && refused.errorCode == "invalid_segment", "\(n): \(refused)")
            }
            // A ban in the room of the video's name holds in the video too.
            #expect(try await tokens.call(port, "POST", "/v1/rooms/film/bans", streamer, #"{"user":"fan","seconds":60}"#).status == 200)
            #expect(try await post(port, "film", as: fan, #"{"text":"hi","offsetMs":1}"#).errorCode == "banned")
            #expect(Self.texts(try await segment(port, "film", "0")) == ["sub"], "nothing refused was kept")
        }
    }

    /// `?minWeight=` keeps the comments that weigh at least that much (`CommentWeight`): a viewer's
    /// 5, staff's 8, one more for a viewer's comment once it is liked.
    @Test func minWeightKeepsTheHeavierComments() async throws {
        try await withServer({ $0.jwtSecret = ModerationTests.secret }) { _, port in
            let (ann, bob) = (try await tokens.bearer("ann", .viewer), try await tokens.bearer("bob", .viewer))
            try await start(port, "weigh")
            let streamer = try await tokens.bearer("star", .streamer, rooms: ["weigh"])
            let id = try #require(try await post(port, "weigh", as: ann, #"{"text":"from a viewer","offsetMs":10}"#).json["id"] as? String)
            #expect(try await post(port, "weigh", as: streamer, #"{"text":"from the streamer","offsetMs":20}"#).status == 201)
            #expect(Self.texts(try await segment(port, "weigh", "0?minWeight=1")) == ["from a viewer", "from the streamer"])
            #expect(Self.texts(try await segment(port, "weigh", "0?minWeight=6")) == ["from the streamer"])
            #expect(try await tokens.call(port, "POST", "/v1/videos/weigh/comments/\(id)/likes", bob).status == 200)
            #expect(Self.texts(try await segment(port, "weigh", "0?minWeight=6")) == ["from a viewer", "from the streamer"], "a like adds 1")
            #expect(Self.texts(try await segment(port, "weigh", "0?minWeight=9")).isEmpty)
            for bad in ["0", "11", "x", "-1"] {
                #expect(try await segment(port, "weigh", "0?minWeight=\(bad)").errorCode == "invalid_minWeight", "\(bad)")
            }
        }
    }

    @Test func aSegmentIsCacheableByItsETag() async throws {
        try await withServer({ $0.jwtSecret = ModerationTests.secret }) { _, port in
            let (ann, bob) = (try await tokens.bearer("ann", .viewer), try await tokens.bearer("bob", .viewer))
            try await start(port, "clip")
            let id = try #require(try await post(port, "clip", as: ann, #"{"text":"nice","offsetMs":42}"#).json["id"] as? String)
            let first = try await segment(port, "clip", "0")
            let tag = try #require(first.headers["etag"])
            #expect(first.headers["cache-control"]?.contains("max-age") == true)
            #expect(try await segment(port, "clip", "0").headers["etag"] == tag, "the same segment, the same tag")
            let unchanged = try await segment(port, "clip", "0", headers: ["If-None-Match": tag])
            #expect(unchanged.status == 304 && unchanged.body.isEmpty && unchanged.headers["etag"] == tag, "\(unchanged)")
            #expect(try await segment(port, "clip", "0", headers: ["If-None-Match": "\"other\", W/\(tag)"]).status == 304)
            let any = try await segment(port, "clip", "0", headers: ["If-None-Match": "*"])
            #expect(any.status == 304 && any.headers["content-type"] == nil && any.headers["content-length"] == nil, "a head alone: \(any)")

            // A like changes the segment, so its tag.
            let liked = try await tokens.call(port, "POST", "/v1/videos/clip/comments/\(id)/likes", bob)
            #expect(liked.status == 200 && liked.json["likes"] as? Int == 1 && liked.json["seq"] as? Int == 2, "\(liked)")
            #expect(try await tokens.call(port, "POST", "/v1/videos/clip/comments/\(id)/likes", bob).json["likes"] as? Int == 1, "once per user")
            #expect(try await tokens.call(port, "POST", "/v1/videos/clip/comments/no-such/likes", bob).errorCode == "not_found")
            let changed = try await segment(port, "clip", "0", headers: ["If-None-Match": tag])
            #expect(changed.status == 200 && changed.headers["etag"] != tag, "\(changed)")
            #expect((changed.json["comments"] as? [[String: Any]])?.first?["likes"] as? Int == 1)
        }
    }

    @Test func anAuthorRecallsAndAModeratorRemoves() async throws {
        try await withServer({ $0.jwtSecret = ModerationTests.secret }) { _, port in
            let (ann, bob) = (try await tokens.bearer("ann", .viewer), try await tokens.bearer("bob", .viewer))
            let streamer = try await tokens.bearer("star", .streamer, rooms: ["vod"])
            try await start(port, "vod")
            let first = try #require(try await post(port, "vod", as: ann, #"{"text":"mine","offsetMs":10}"#).json["id"] as? String)
            let second = try #require(try await post(port, "vod", as: ann, #"{"text":"also mine","offsetMs":20}"#).json["id"] as? String)
            let notHers = try await tokens.call(port, "DELETE", "/v1/videos/vod/comments/\(first)", bob)
            #expect(notHers.status == 403 && notHers.errorCode == "forbidden", "\(notHers)")
            let recalled = try await tokens.call(port, "DELETE", "/v1/videos/vod/comments/\(first)", ann)
            #expect(recalled.status == 200 && recalled.json["id"] as? String == first, "\(recalled)")
            #expect(try await tokens.call(port, "DELETE", "/v1/videos/vod/comments/\(first)", ann).errorCode == "not_found")
            #expect(try await tokens.call(port, "DELETE", "/v1/videos/vod/comments/\(second)", streamer).status == 200, "the video's staff")
            #expect(Self.texts(try await segment(port, "vod", "0")).isEmpty)
        }
    }

    @Test func aFullSegmentKeepsThePrivilegedTheLikedAndTheNewest() async throws {
        try await withServer({ $0.jwtSecret = ModerationTests.secret; $0.logic.videoSegmentCap = 3 }) { _, port in
            let fan = try await tokens.bearer("fan", .viewer)
            let streamer = try await tokens.bearer("star", .streamer, rooms: ["cap"])
            #expect(try await post(port, "cap", as: streamer, #"{"text":"staff","offsetMs":99999}"#).status == 201)
            var ids: [String] = []
            for index in 0..<5 {
                ids.append(try #require(try await post(port, "cap", as: fan, #"{"text":"c\#(index)","offsetMs":\#(1000 * index)}"#).json["id"] as? String))
            }
            #expect(try await tokens.call(port, "POST", "/v1/videos/cap/comments/\(ids[0])/likes", fan).status == 200)
            // Kept: the staff's comment, the liked c0, then the newest of the rest (c4); shown in offset order.
            #expect(Self.texts(try await segment(port, "cap", "0")) == ["c0", "c4", "staff"])
        }
    }

    @Test func aPoolIsBoundedAndARefusedPostCostsNothing() async throws {
        try await withServer({ $0.jwtSecret = ModerationTests.secret; $0.logic.maxVideoComments = 2 }) { _, port in
            let fan = try await tokens.bearer("fan", .viewer)
            try await start(port, "small")
            #expect(try await post(port, "small", as: fan, #"{"text":"a","offsetMs":1}"#).status == 201)
            let full = try await post(port, "small", as: fan, #"{"text":"b","offsetMs":2}"#)
            #expect(full.status == 409 && full.errorCode == "video_full", "\(full)")
            try await start(port, "other")
            #expect(try await post(port, "other", as: fan, #"{"text":"b","offsetMs":2}"#).status == 201, "another pool takes it")
        }
    }

    @Test func onlyTheVideosStaffStartAPool() async throws {
        try await withServer({ $0.jwtSecret = ModerationTests.secret }) { _, port in
            let fan = try await tokens.bearer("fan", .viewer)
            let refused = try await post(port, "anyname", as: fan, #"{"text":"junk","offsetMs":1}"#)
            #expect(refused.status == 404 && refused.errorCode == "no_video", "\(refused)")
            #expect(try await post(port, "anyname", as: fan, #"{"text":"junk","offsetMs":1}"#).errorCode == "no_video",
                    "refused, not rate limited or a duplicate: the refusal was refunded")
            try await start(port, "anyname")
            #expect(try await post(port, "anyname", as: fan, #"{"text":"now it takes posts","offsetMs":1}"#).status == 201)
        }
    }

    @Test func inOpenModeAnyPostStartsAPool() async throws {
        try await withServer({ _ in }) { _, port in
            let posted = try await post(port, "demo", as: nil, #"{"text":"hi","offsetMs":1}"#)
            #expect(posted.status == 201, "nobody can prove to be staff, so nobody is needed: \(posted)")
        }
    }
}
