import DanmakuBus
import DanmakuCore
import Testing

/// What every `ReportStore` must do, run by the memory, SQLite and Redis stores' tests (this
/// file is linked into each of their targets).
enum ReportStoreContract {
    static let room = ReportQueue.room(RoomID("reported")!)

    static func comment(_ id: String, by author: String = "troll") -> ReportedComment {
        ReportedComment(id: id, seq: 7, user: CommentAuthor(id: author, name: author.uppercased()), text: "text of \(id)")
    }

    static func report(_ reason: ReportReason = .spam, text: String? = nil, at ts: Int64) -> CommentReport {
        CommentReport(reason: reason, text: text, ts: ts)
    }

    /// Once per user per comment; the queue lists the most reported first, then the longest
    /// waiting, each with its reports newest first; the comment is kept as first reported.
    static func eachUserReportsOnceAndTheMostReportedComeFirst(_ store: some ReportStore) async throws {
        #expect(try await store.file(report(.spam, text: "ads", at: 10), by: "ann", of: comment("a"), in: room) == .counted(reporters: 1, hidden: false))
        #expect(try await store.file(report(.abuse, at: 20), by: "ann", of: comment("a"), in: room) == .alreadyReported)
        #expect(try await store.file(report(.abuse, at: 30), by: "bob", of: comment("a"), in: room) == .counted(reporters: 2, hidden: false))
        #expect(try await store.file(report(at: 5), by: "ann", of: comment("b"), in: room) == .counted(reporters: 1, hidden: false))
        #expect(try await store.file(report(at: 40), by: "ann", of: comment("c"), in: room) == .counted(reporters: 1, hidden: false))
        var changed = comment("a")
        changed.text = "edited later"
        #expect(try await store.file(report(.offTopic, at: 50), by: "cid", of: changed, in: room) == .counted(reporters: 3, hidden: false))

        let queue = try await store.entries(in: room, limit: 10)
        #expect(queue.map(\.comment.id) == ["a", "b", "c"], "most reported, then the longest waiting")
        let first = try #require(queue.first)
        #expect(first.comment == comment("a"), "the comment as first reported")
        #expect(first.reporters == 3 && first.firstReportedAt == 10 && !first.hidden)
        #expect(first.reports == [report(.offTopic, at: 50), report(.abuse, at: 30), report(.spam, text: "ads", at: 10)], "newest first")
        #expect(try await store.entries(in: room, limit: 2).map(\.comment.id) == ["a", "b"])
        #expect(try await store.entries(in: .video(VideoID("reported")!), limit: 10).isEmpty, "a video of the room's name has its own queue")
        #expect(try await store.entry(id: "b", in: room)?.reporters == 1)
        #expect(try await store.entry(id: "zz", in: room) == nil)
    }

    /// Hidden is kept and reported back; resolving takes a comment out, and a later report starts
    /// it again from nothing.
    static func hiddenStaysUntilResolvedAndResolvingStartsOver(_ store: some ReportStore) async throws {
        let video = ReportQueue.video(VideoID("film")!)
        _ = try await store.file(report(at: 1), by: "ann", of: comment("v1"), in: video)
        #expect(try await store.markHidden(id: "v1", in: video))
        #expect(try await !store.markHidden(id: "nope", in: video), "only a queued comment")
        #expect(try await store.file(report(at: 2), by: "bob", of: comment("v1"), in: video) == .counted(reporters: 2, hidden: true))
        #expect(try await store.entry(id: "v1", in: video)?.hidden == true)
        #expect(try await store.resolve(id: "v1", in: video))
        #expect(try await !store.resolve(id: "v1", in: video), "once")
        #expect(try await store.entry(id: "v1", in: video) == nil)
        #expect(try await store.entries(in: video, limit: 10).isEmpty)
        #expect(try await store.file(report(at: 3), by: "ann", of: comment("v1"), in: video) == .counted(reporters: 1, hidden: false),
                "its reports were closed: ann may report it again")
    }

    /// A comment keeps at most `ReportBounds.reportsPerComment` reports; a full queue takes no
    /// new comment but still takes reports of the comments it holds.
    static func reportsAndQueuesAreBounded(_ store: some ReportStore) async throws {
        let busy = ReportQueue.room(RoomID("busy")!)
        for index in 0..<ReportBounds.reportsPerComment + 3 {
            _ = try await store.file(report(at: Int64(index)), by: "user\(index)", of: comment("hot"), in: busy)
        }
        #expect(try await store.entry(id: "hot", in: busy)?.reporters == ReportBounds.reportsPerComment)
        #expect(try await store.file(report(at: 999), by: "late", of: comment("hot"), in: busy) == .counted(reporters: ReportBounds.reportsPerComment, hidden: false))

        let full = ReportQueue.room(RoomID("full")!)
        for index in 0..<ReportBounds.commentsPerQueue {
            _ = try await store.file(report(at: Int64(index)), by: "ann", of: comment("c\(index)"), in: full)
        }
        #expect(try await store.file(report(at: 1), by: "ann", of: comment("one-more"), in: full) == .queueFull)
        #expect(try await store.file(report(at: 1), by: "bob", of: comment("c0"), in: full) == .counted(reporters: 2, hidden: false))
        #expect(try await store.entries(in: full, limit: ReportBounds.commentsPerQueue + 5).count == ReportBounds.commentsPerQueue)
        #expect(try await store.resolve(id: "c5", in: full))
        #expect(try await store.file(report(at: 1), by: "ann", of: comment("one-more"), in: full) == .counted(reporters: 1, hidden: false))
    }
}
