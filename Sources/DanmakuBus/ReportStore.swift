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
    /// The most comments a room's (or a video's) queue holds awaiting staff; past it, a report
    /// of a comment not in the queue is refused (`report_queue_full`) until staff act on some.
    public static let commentsPerQueue = 1000
    /// The longest text a report may carry, in UTF-8 bytes.
    public static let textBytes = 500
    /// How long a queue is kept after its last report (stores that expire keys: Redis).
    public static let keptMilliseconds: Int64 = 30 * 86_400_000
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
    /// The comment is not in the queue and the queue is full; nothing changed.
    case queueFull
}

/// Where reports of comments wait for a room's staff: one queue per room and per video, each
/// reported comment with the reports of distinct users. Shared by every logic node (kept beside
/// the bus, like bans and likes).
public protocol ReportStore: Sendable {
    /// Files `report` by `user` of `comment` in `queue`: once per user per comment, the comment
    /// entering the queue with its first report (when the queue has room).
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
/// rooms and videos, forgetting the queue started longest ago to make room for a new one.
public final class MemoryReports: ReportStore {
    private struct Entry {
        var comment: ReportedComment
        var reports: [String: CommentReport] = [:]
        var hidden = false

        var listed: ReportEntry { ReportEntry(comment: comment, reports: Array(reports.values), hidden: hidden) }
    }

    private struct State {
        var queues: [String: [String: Entry]] = [:]
        /// Queues in the order they started, for forgetting the oldest.
        var order: [String] = []
    }

    private let state = Mutex(State())
    public let maxQueues: Int

    public init(maxQueues: Int = 10_000) {
        self.maxQueues = max(1, maxQueues)
    }

    public func file(_ report: CommentReport, by user: String, of comment: ReportedComment, in queue: ReportQueue) async throws -> ReportOutcome {
        state.withLock { state in
            let name = queue.name
            if state.queues[name] == nil {
                while state.queues.count >= maxQueues, !state.order.isEmpty { state.queues[state.order.removeFirst()] = nil }
                state.queues[name] = [:]
                state.order.append(name)
            }
            var entries = state.queues[name] ?? [:]
            defer { state.queues[name] = entries }
            if entries[comment.id] == nil {
                guard entries.count < ReportBounds.commentsPerQueue else { return .queueFull }
                entries[comment.id] = Entry(comment: comment)
            }
            guard var entry = entries[comment.id] else { return .queueFull }
            if entry.reports[user] != nil { return .alreadyReported }
            if entry.reports.count < ReportBounds.reportsPerComment { entry.reports[user] = report }
            entries[comment.id] = entry
            return .counted(reporters: entry.reports.count, hidden: entry.hidden)
        }
    }

    public func entries(in queue: ReportQueue, limit: Int) async throws -> [ReportEntry] {
        let all = state.withLock { state in (state.queues[queue.name] ?? [:]).values.map(\.listed) }
        return Array(all.sorted(by: ReportEntry.queueOrder).prefix(max(0, limit)))
    }

    public func entry(id: String, in queue: ReportQueue) async throws -> ReportEntry? {
        state.withLock { $0.queues[queue.name]?[id]?.listed }
    }

    public func markHidden(id: String, in queue: ReportQueue) async throws -> Bool {
        state.withLock { state in
            guard state.queues[queue.name]?[id] != nil else { return false }
            state.queues[queue.name]?[id]?.hidden = true
            return true
        }
    }

    public func resolve(id: String, in queue: ReportQueue) async throws -> Bool {
        state.withLock { $0.queues[queue.name]?.removeValue(forKey: id) != nil }
    }
}
