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

    /// A comment keeps at most `ReportBounds.reportsPerComment` reports; a full queue takes a new
    /// comment in place of its least reported entry that is not hidden (ties: the oldest last
    /// report), so cheap reports cannot keep a worse comment out.
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
        #expect(try await store.file(report(at: 1), by: "bob", of: comment("c0"), in: full) == .counted(reporters: 2, hidden: false))
        #expect(try await store.markHidden(id: "c1", in: full))
        #expect(try await store.file(report(at: 2_000), by: "ann", of: comment("one-more"), in: full) == .counted(reporters: 1, hidden: false),
                "a full queue takes a new comment")
        #expect(try await store.entry(id: "c2", in: full) == nil, "the least reported, last reported longest ago, is pushed out")
        #expect(try await store.entry(id: "c0", in: full)?.reporters == 2, "one more reporter keeps it")
        #expect(try await store.entry(id: "c1", in: full)?.hidden == true, "a hidden entry is never pushed out")
        #expect(try await store.entries(in: full, limit: ReportBounds.commentsPerQueue + 5).count == ReportBounds.commentsPerQueue)
        #expect(try await store.file(report(at: 2_001), by: "bob", of: comment("two-more"), in: full) == .counted(reporters: 1, hidden: false))
        #expect(try await store.entry(id: "c3", in: full) == nil, "then the next oldest")
    }

    /// A queue whose every entry is hidden refuses a new comment (`queueFull`), still counts
    /// reports of the comments it holds, and takes new ones again once staff act on one or
    /// entries expire.
    static func aQueueOfHiddenEntriesRefusesNewComments(_ store: some ReportStore) async throws {
        let hidden = ReportQueue.room(RoomID("hidden")!)
        for index in 0..<ReportBounds.commentsPerQueue {
            _ = try await store.file(report(at: Int64(index)), by: "ann", of: comment("h\(index)"), in: hidden)
            #expect(try await store.markHidden(id: "h\(index)", in: hidden))
        }
        #expect(try await store.file(report(at: 1_000), by: "ann", of: comment("one-more"), in: hidden) == .queueFull)
        #expect(try await store.file(report(at: 1_000), by: "bob", of: comment("h5"), in: hidden) == .counted(reporters: 2, hidden: true))
        #expect(try await store.resolve(id: "h7", in: hidden))
        #expect(try await store.file(report(at: 1_000), by: "ann", of: comment("one-more"), in: hidden) == .counted(reporters: 1, hidden: false))
        #expect(try await store.file(report(at: 1_001), by: "ann", of: comment("two-more"), in: hidden) == .counted(reporters: 1, hidden: false))
        #expect(try await store.entry(id: "one-more", in: hidden) == nil, "the one entry not hidden made room")
        // A month past the first entries' last reports they have expired, and hold no place.
        let later = 10 + ReportBounds.keptMilliseconds
        #expect(try await store.file(report(at: later), by: "ann", of: comment("much-later"), in: hidden) == .counted(reporters: 1, hidden: false))
        #expect(try await store.entry(id: "h0", in: hidden) == nil, "expired a month after its last report")
        #expect(try await store.entry(id: "h5", in: hidden) != nil, "reported again at 1,000: not yet expired")
    }

    /// Entries leave a month (`ReportBounds.keptMilliseconds`) after their last report, measured
    /// at the next report of the queue.
    static func entriesExpireAMonthAfterTheirLastReport(_ store: some ReportStore) async throws {
        let stale = ReportQueue.room(RoomID("stale")!)
        let start: Int64 = 1_700_000_000_000
        let day: Int64 = 86_400_000
        _ = try await store.file(report(at: start), by: "ann", of: comment("old"), in: stale)
        _ = try await store.file(report(at: start), by: "ann", of: comment("kept"), in: stale)
        _ = try await store.file(report(at: start + 10 * day), by: "bob", of: comment("kept"), in: stale)
        _ = try await store.file(report(at: start + ReportBounds.keptMilliseconds), by: "ann", of: comment("edge"), in: stale)
        #expect(try await store.entry(id: "old", in: stale) != nil, "exactly a month old: still kept")
        _ = try await store.file(report(at: start + ReportBounds.keptMilliseconds + 1), by: "ann", of: comment("new"), in: stale)
        #expect(try await store.entry(id: "old", in: stale) == nil, "a month and a millisecond after its last report: gone")
        #expect(try await store.entries(in: stale, limit: 10).map(\.comment.id) == ["kept", "edge", "new"])
        #expect(try await store.file(report(at: start + ReportBounds.keptMilliseconds + 2), by: "ann", of: comment("old"), in: stale)
                == .counted(reporters: 1, hidden: false), "its record went with it: ann may report it again")
    }

    /// Equal counts and equal first reports order by the smallest id, in every store and across
    /// a `limit` cut (Redis lists equal scores by member, so the order must not be reversed).
    static func tiesOrderBySmallestIdAcrossALimit(_ store: some ReportStore) async throws {
        let ties = ReportQueue.room(RoomID("ties")!)
        for id in ["m", "b", "z", "a", "k"] {
            _ = try await store.file(report(at: 100), by: "ann", of: comment(id), in: ties)
        }
        _ = try await store.file(report(at: 200), by: "ann", of: comment("y"), in: ties)
        _ = try await store.file(report(at: 300), by: "bob", of: comment("y"), in: ties)
        _ = try await store.file(report(at: 50), by: "ann", of: comment("x"), in: ties)
        #expect(try await store.entries(in: ties, limit: 3).map(\.comment.id) == ["y", "x", "a"])
        #expect(try await store.entries(in: ties, limit: 4).map(\.comment.id) == ["y", "x", "a", "b"])
        #expect(try await store.entries(in: ties, limit: 10).map(\.comment.id) == ["y", "x", "a", "b", "k", "m", "z"])
    }
}
