import DanmakuBus
import DanmakuCore
import Testing

/// What every `VideoPoolStore` must do, run by the memory, SQLite and Redis stores' tests (this
/// file is linked into each of their targets).
enum VideoPoolContract {
    static func comment(_ id: String, at offset: Int64, staff: Bool = false) -> VideoComment {
        VideoComment(seq: 0, id: id, video: "film", offsetMs: offset, user: CommentAuthor(id: staff ? "star" : "fan", name: "U", role: staff ? "streamer" : nil),
                     text: id, color: "#ffffff", mode: .scroll, ts: 1)
    }

    /// A segment over its cap: the store itself returns only the cap's worth, the privileged,
    /// the liked and the newest, in offset order.
    static func aCappedSegmentReadReturnsOnlyTheHighestRanked(_ store: some VideoPoolStore) async throws {
        let video = VideoID("film")!
        let plain = (0..<5).map { comment("c\($0)", at: Int64(1000 * $0)) }
        _ = try await store.add(plain + [comment("staff", at: 99_999, staff: true), comment("later", at: 360_000)], video: video, limit: 100, origin: .published)
        #expect(try await store.like(video: video, id: "c0", user: "ann")?.count == 1)
        #expect(try await store.like(video: video, id: "c0", user: "ann")?.added == false)
        let capped = try await store.comments(video: video, segment: 0, limit: 3)
        #expect(capped.map(\.id) == ["c0", "c4", "staff"], "the staff's, the liked, the newest; in offset order")
        #expect(capped.first?.likes == 1)
        #expect(try await store.comments(video: video, segment: 0, limit: 100).map(\.id) == ["c0", "c1", "c2", "c3", "c4", "staff"])
        #expect(try await store.comments(video: video, segment: 1, limit: 100).map(\.id) == ["later"])
        #expect(try await store.remove(video: video, id: "c0"))
        #expect(try await store.comments(video: video, segment: 0, limit: 3).map(\.id) == ["c3", "c4", "staff"], "a removed comment leaves its rank")
        #expect(try await store.comments(video: video, segment: 0, limit: 0).isEmpty)
    }

    /// Only staff start a pool; posts and publishes have an allowance each, so a pool viewers
    /// filled still takes the stream published as it.
    static func viewersNeitherStartPoolsNorBlockAPublish(_ store: some VideoPoolStore) async throws {
        let video = VideoID("show")!
        let viewer = VideoCommentOrigin.post(startsPool: false)
        await #expect(throws: VideoPoolMissing()) { try await store.add([comment("junk", at: 1)], video: video, limit: 2, origin: viewer) }
        await #expect(throws: VideoPoolMissing(), "a refused post starts nothing") {
            try await store.add([comment("junk", at: 1)], video: video, limit: 2, origin: viewer)
        }
        #expect(try await store.comments(video: video, segment: 0, limit: 10).isEmpty)
        #expect(try await store.add([comment("hello", at: 1, staff: true)], video: video, limit: 2, origin: .post(startsPool: true)).count == 1)
        #expect(try await store.add([comment("p1", at: 2)], video: video, limit: 2, origin: viewer).count == 1, "the pool exists now")
        await #expect(throws: VideoPoolFull(limit: 2)) { try await store.add([comment("p2", at: 3)], video: video, limit: 2, origin: viewer) }
        let stream = [comment("s1", at: 4), comment("s2", at: 5)]
        #expect(try await store.add(stream, video: video, limit: 2, origin: .published).map(\.seq) == [3, 4], "the posts' allowance is not the publish's")
        await #expect(throws: VideoPoolFull(limit: 2)) { try await store.add([comment("p2", at: 3)], video: video, limit: 2, origin: viewer) }
        await #expect(throws: VideoPoolFull(limit: 2)) { try await store.add([comment("s3", at: 6)], video: video, limit: 2, origin: .published) }
        #expect(try await store.add(stream, video: video, limit: 2, origin: .published).isEmpty, "publishing again adds nothing")
        #expect(try await store.comments(video: video, segment: 0, limit: 10).map(\.id) == ["hello", "p1", "s1", "s2"])
        #expect(try await store.add([comment("v1", at: 1)], video: VideoID("vod")!, limit: 2, origin: .published).count == 1, "a publish starts a pool")
    }

    /// The whole pool, for an export: offset order (seq among equal offsets), across segments, with
    /// like counts, bounded by `limit`; an unknown video has none.
    static func allCommentsComeInOffsetOrderAcrossSegments(_ store: some VideoPoolStore) async throws {
        let video = VideoID("whole")!
        let comments = [comment("late", at: 800_000), comment("b", at: 5), comment("a", at: 5), comment("first", at: 0)]
        _ = try await store.add(comments, video: video, limit: 10, origin: .published)
        _ = try await store.like(video: video, id: "late", user: "u1")
        let all = try await store.allComments(video: video, limit: 10)
        #expect(all.map(\.id) == ["first", "b", "a", "late"], "offset order, then seq")
        #expect(all.last?.likes == 1)
        #expect(try await store.allComments(video: video, limit: 3).map(\.id) == ["first", "b", "a"])
        #expect(try await store.allComments(video: video, limit: 1).map(\.id) == ["first"])
        #expect(try await store.allComments(video: VideoID("none")!, limit: 10).isEmpty)
    }

    /// Past the likers a store remembers per comment (here 2), likes count without who; a
    /// remembered liker still counts once. `store` remembers 2.
    static func likesPastTheLikersBoundCountWithoutWho(_ store: some VideoPoolStore) async throws {
        let video = VideoID("loved")!
        _ = try await store.add([comment("a", at: 1)], video: video, limit: 10, origin: .published)
        #expect(try await store.like(video: video, id: "a", user: "u1")?.count == 1)
        #expect(try await store.like(video: video, id: "a", user: "u2")?.count == 2)
        #expect(try await store.like(video: video, id: "a", user: "u3").map { [$0.count, $0.added ? 1 : 0] } == [3, 1])
        #expect(try await store.like(video: video, id: "a", user: "u1").map { [$0.count, $0.added ? 1 : 0] } == [3, 0])
        #expect(try await store.comments(video: video, segment: 0, limit: 10).first?.likes == 3)
    }
}
