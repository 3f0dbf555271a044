// Danmaku — a live-stream bullet-comment service.

import DanmakuCore
import Synchronization

/// Why a viewer reports a comment: a fixed list, so staff can sort and count them.
public enum ReportReason: String, Codable, Sendable, CaseIterable {
    case spam, abuse, spoiler
    case offTopic = "off_topic"
    case other
}

/// The bounds on what reports may make a store hold.
public enum ReportBounds {
    /// The most reports one comment keeps (and counts): past it a report is answered but not
    /// kept, so a popular comment's reports do not grow a store without bound (a comment with this
    /// many is at the top of the queue anyway).
    public static let reportsPerComment = 100
    /// The most comments a room's (or a video's) queue holds awaiting staff. A report of a comment
    /// not in a full queue pushes out the entry with the fewest reporters (ties: the oldest last
    /// report, then the smallest id), never a hidden one, so a flood of cheap reports cannot keep a
    /// worse comment out; only when every entry is hidden is it refused (`report_queue_full`).
    public static let commentsPerQueue = 1000
    /// The longest text a report may carry, in UTF-8 bytes.
    public static let textBytes = 500
    /// How long an entry is kept after its last report, in every store: older entries leave as
    /// later reports are filed (Redis also expires the keys).
    public static let keptMilliseconds: Int64 = 30 * 86_400_000

    /// Entries last reported before this have expired when a report is filed at `now` (ms).
    public static func expiryCutoff(now: Int64) -> Int64 {
        let (cutoff, overflow) = now.subtractingReportingOverflow(keptMilliseconds)
        return overflow ? .min : cutoff
    }
}

/// Whose reports these are: a live room's or a video pool's. A room and a video of one name
/// have a queue each (their comments' ids are separate), with the same staff.
public enum ReportQueue: Sendable, Hashable {
    case room(RoomID)
    case video(VideoID)

    /// The room whose staff act on the queue (and whose settings say when a comment hides).
    public var scope: RoomID {
        switch self {
        case .room(let room): room
        case .video(let video): video.scope
        }
    }

    /// A name unique across rooms and videos (a room id never holds a `:`), used as a store key
    /// and as the Redis hash tag, shared with the video's pool (`{video:ID}`).
    public var name: String {
        switch self {
        case .room(let room): room.value
        case .video(let video): "video:" + video.value
        }
    }
}

/// One viewer's report, as staff see it (the reporter's id is kept by the store, not shown).
public struct CommentReport: Codable, Sendable, Equatable {
    public var reason: ReportReason
    /// What the viewer wrote, at most `ReportBounds.textBytes`.
    public var text: String?
    /// When it was filed, ms since 1970.
    public var ts: Int64

    public init(reason: ReportReason, text: String?, ts: Int64) {
        self.reason = reason
        self.text = text
        self.ts = ts
    }
}

/// The reported comment as it was when first reported: what staff judge, even once it has
/// left history.
public struct ReportedComment: Codable, Sendable, Equatable {
    public var id: String
    public var seq: UInt64
    public var user: CommentAuthor
    public var text: String
    /// A video comment's offset in ms; nil for a live comment.
    public var offsetMs: Int64?

    public init(id: String, seq: UInt64, user: CommentAuthor, text: String, offsetMs: Int64? = nil) {
        self.id = id
        self.seq = seq
        self.user = user
        self.text = text
        self.offsetMs = offsetMs
    }
}

/// A comment in a queue with its reports.
public struct ReportEntry: Sendable, Equatable {
    public var comment: ReportedComment
    /// The reports kept, newest first; each from a distinct user.
    public var reports: [CommentReport]
    /// Whether it was hidden pending review (the room's `reportsToHide` reached).
    public var hidden: Bool

    public init(comment: ReportedComment, reports: [CommentReport], hidden: Bool) {
        self.comment = comment
        self.reports = reports.sorted { $0.ts > $1.ts }
        self.hidden = hidden
    }

    /// How many distinct users reported it.
    public var reporters: Int { reports.count }
    /// When it was first reported, ms since 1970.
    public var firstReportedAt: Int64 { reports.last?.ts ?? 0 }

    /// Queue order: most reported first, then the longest waiting, then by id (a total order,
    /// so every store lists a queue alike).
    public static func queueOrder(_ a: ReportEntry, _ b: ReportEntry) -> Bool {
        if a.reporters != b.reporters { return a.reporters > b.reporters }
        if a.firstReportedAt != b.firstReportedAt { return a.firstReportedAt < b.firstReportedAt }
        return a.comment.id < b.comment.id
    }
}

/// What filing a report did.
public enum ReportOutcome: Sendable, Equatable {
    /// Counted (or, past `ReportBounds.reportsPerComment`, answered without being kept): how many
    /// distinct users reported the comment, and whether it is hidden already.
    case counted(reporters: Int, hidden: Bool)
    /// This user reported the comment before; nothing changed.
    case alreadyReported
    /// The comment is not in the queue and the queue is full of hidden entries; nothing changed.
    case queueFull
}

/// Where reports of comments wait for a room's staff: one queue per room and per video, each
/// reported comment with the reports of distinct users. Shared by every logic node (kept beside
/// the bus, like bans and likes).
public protocol ReportStore: Sendable {
    /// Files `report` by `user` of `comment` in `queue`: once per user per comment, the comment
    /// entering the queue with its first report (in a full queue, in place of the least reported
    /// entry that is not hidden). Entries last reported more than `ReportBounds.keptMilliseconds`
    /// before `report.ts` leave the store as it is filed (a store may leave some for later calls).
    func file(_ report: CommentReport, by user: String, of comment: ReportedComment, in queue: ReportQueue) async throws -> ReportOutcome

    /// The queue's first `limit` comments in `ReportEntry.queueOrder`.
    func entries(in queue: ReportQueue, limit: Int) async throws -> [ReportEntry]

    /// Comment `id` of the queue, nil when it is not there.
    func entry(id: String, in queue: ReportQueue) async throws -> ReportEntry?

    /// Marks comment `id` hidden pending review; whether it is in the queue.
    func markHidden(id: String, in queue: ReportQueue) async throws -> Bool

    /// Takes comment `id` out of the queue (staff acted on it); whether it was there.
    func resolve(id: String, in queue: ReportQueue) async throws -> Bool
}

/// Reports kept in this process (the in-memory bus's companion, like `MemoryLikes`).
///
/// Bounded as every store is (`ReportBounds`), and it holds the queues of at most `maxQueues`
/// rooms and videos: to make room for a new one it forgets the queue reported least recently,
/// passing over queues that hold a hidden comment unless every queue does (a hidden comment is
/// evidence staff have not seen yet, and made-up rooms must not push it out). Entries and whole
/// queues not reported for `ReportBounds.keptMilliseconds` leave as later reports come, measured
/// by the time of the report being filed.
public final class MemoryReports: ReportStore {
    private struct State {
        var queues: [String: MemoryReportQueue] = [:]
        /// Queues without a hidden entry, least recently reported first: the first to forget.
        var plain = RecencyList<String>()
        /// Queues holding a hidden entry: forgotten only when no other queue is left to forget.
        var holdingHidden = RecencyList<String>()

        /// Forgets the queue at the old end of `plain`, else of `holdingHidden`; whether one was.
        mutating func forgetLeastRecentlyReported() -> Bool {
            guard let name = plain.oldest ?? holdingHidden.oldest else { return false }
            forget(name)
            return true
        }

        /// Forgets queues whose last report is before `cutoff`, from the old ends of the lists:
        /// a few per call, so one report never pays for many (the rest go with later reports).
        mutating func forgetExpired(before cutoff: Int64) {
            for _ in 0..<8 {
                if let name = plain.oldest, isExpired(name, before: cutoff) {
                    forget(name)
                } else if let name = holdingHidden.oldest, isExpired(name, before: cutoff) {
                    forget(name)
                } else {
                    return
                }
            }
        }

        private func isExpired(_ name: String, before cutoff: Int64) -> Bool {
            (queues[name]?.lastReportAt ?? .min) < cutoff
        }

        mutating func forget(_ name: String) {
            queues[name] = nil
            plain.remove(name)
            holdingHidden.remove(name)
        }

        /// Files the queue `name` in the list its hidden entries say (most recent when `touched`),
        /// or forgets it once empty.
        mutating func place(_ name: String, touched: Bool) {
            guard let queue = queues[name], !queue.isEmpty else { return forget(name) }
            let (to, from) = queue.holdsHidden ? (\State.holdingHidden, \State.plain) : (\State.plain, \State.holdingHidden)
            if self[keyPath: from].remove(name) || touched || !self[keyPath: to].contains(name) { self[keyPath: to].touch(name) }
        }
    }

    private let state = Mutex(State())
    public let maxQueues: Int

    public init(maxQueues: Int = 10_000) {
        self.maxQueues = max(1, maxQueues)
    }

    public func file(_ report: CommentReport, by user: String, of comment: ReportedComment, in queue: ReportQueue) async throws -> ReportOutcome {
        let cutoff = ReportBounds.expiryCutoff(now: report.ts)
        return state.withLock { state in
            let name = queue.name
            state.forgetExpired(before: cutoff)
            if state.queues[name] == nil {
                while state.queues.count >= maxQueues, state.forgetLeastRecentlyReported() {}
            }
            // Mutated in place through the subscript: no copy of the queue per report.
            let outcome = state.queues[name, default: MemoryReportQueue()].file(report, by: user, of: comment, expiringBefore: cutoff)
            var reported = false
            if case .counted = outcome { reported = true }
            state.place(name, touched: reported)
            return outcome
        }
    }

    public func entries(in queue: ReportQueue, limit: Int) async throws -> [ReportEntry] {
        let all = state.withLock { state in state.queues[queue.name]?.listed ?? [] }
        return Array(all.sorted(by: ReportEntry.queueOrder).prefix(max(0, limit)))
    }

    public func entry(id: String, in queue: ReportQueue) async throws -> ReportEntry? {
        state.withLock { $0.queues[queue.name]?.entry(id: id) }
    }

    public func markHidden(id: String, in queue: ReportQueue) async throws -> Bool {
        state.withLock { state in
            guard state.queues[queue.name]?.markHidden(id: id) == true else { return false }
            state.place(queue.name, touched: false)
            return true
        }
    }

    public func resolve(id: String, in queue: ReportQueue) async throws -> Bool {
        state.withLock { state in
            guard state.queues[queue.name]?.resolve(id: id) == true else { return false }
            state.place(queue.name, touched: false)
            return true
        }
    }
}

/// One room's or video's queue in `MemoryReports`: its entries, kept within
/// `ReportBounds.commentsPerQueue` by pushing out the least reported, and within
/// `ReportBounds.keptMilliseconds` of their last report.
struct MemoryReportQueue {
    private struct Entry {
        var comment: ReportedComment
        /// By reporter.
        var reports: [String: CommentReport] = [:]
        var hidden = false
        /// When it was last reported (a report past `ReportBounds.reportsPerComment` too), ms.
        var lastReportAt: Int64

        var listed: ReportEntry { ReportEntry(comment: comment, reports: Array(reports.values), hidden: hidden) }

        /// Once per user; past `ReportBounds.reportsPerComment` answered and dated, not kept.
        mutating func record(_ report: CommentReport, by user: String) -> ReportOutcome {
            guard reports[user] == nil else { return .alreadyReported }
            if reports.count < ReportBounds.reportsPerComment { reports[user] = report }
            lastReportAt = max(lastReportAt, report.ts)
            return .counted(reporters: reports.count, hidden: hidden)
        }
    }

    private var entries: [String: Entry] = [:]
    private var hiddenCount = 0
    /// When the queue was last reported, ms since 1970.
    private(set) var lastReportAt: Int64 = .min
    /// No entry's last report is older than this (a lower bound): pruning looks at the entries
    /// only when one may have expired.
    private var oldestReportAt: Int64 = .max

    var isEmpty: Bool { entries.isEmpty }
    var holdsHidden: Bool { hiddenCount > 0 }
    var listed: [ReportEntry] { entries.values.map(\.listed) }

    func entry(id: String) -> ReportEntry? { entries[id]?.listed }

    /// Files a report (see `ReportStore.file`), first dropping entries last reported before `cutoff`.
    mutating func file(_ report: CommentReport, by user: String, of comment: ReportedComment, expiringBefore cutoff: Int64) -> ReportOutcome {
        prune(before: cutoff)
        if entries[comment.id] == nil {
            guard entries.count < ReportBounds.commentsPerQueue || pushOutLeastReported() else { return .queueFull }
            entries[comment.id] = Entry(comment: comment, lastReportAt: report.ts)
        }
        // Recorded in place through the subscript (no copy of the entry's reports).
        guard let outcome = entries[comment.id]?.record(report, by: user) else { return .queueFull }
        if case .counted = outcome {
            lastReportAt = max(lastReportAt, report.ts)
            oldestReportAt = min(oldestReportAt, report.ts)
        }
        return outcome
    }

    mutating func markHidden(id: String) -> Bool {
        guard let wasHidden = entries[id]?.hidden else { return false }
        if !wasHidden { hiddenCount += 1 }
        entries[id]?.hidden = true
        return true
    }

    mutating func resolve(id: String) -> Bool {
        guard let removed = entries.removeValue(forKey: id) else { return false }
        if removed.hidden { hiddenCount -= 1 }
        return true
    }

    /// Makes room in a full queue: drops the entry with the fewest reporters (ties: the oldest last
    /// report, then the smallest id), never a hidden one; false when every entry is hidden.
    private mutating func pushOutLeastReported() -> Bool {
        var victim: (reporters: Int, lastReportAt: Int64, id: String)?
        for (id, entry) in entries where !entry.hidden {
            let candidate = (reporters: entry.reports.count, lastReportAt: entry.lastReportAt, id: id)
            if victim.map({ candidate < $0 }) ?? true { victim = candidate }
        }
        guard let victim else { return false }
        entries[victim.id] = nil
        return true
    }

    /// Drops entries last reported before `cutoff`: a scan only when the lower bound says one
    /// expired, and each scan removes at least that one, so the work is paid for by the entries.
    private mutating func prune(before cutoff: Int64) {
        guard oldestReportAt < cutoff else { return }
        var oldest = Int64.max
        for (id, entry) in entries {
            if entry.lastReportAt < cutoff {
                entries[id] = nil
                if entry.hidden { hiddenCount -= 1 }
            } else {
                oldest = min(oldest, entry.lastReportAt)
            }
        }
        oldestReportAt = oldest
    }
}
