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
        _ = try await store.add(plain + [comment("staff", at: 99_999, staff: true), comment("later", at: 360_000)], video: video, limit: 100)
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
}
