// Danmaku — a live-stream bullet-comment service.

import DanmakuBus
import DanmakuCore
import Foundation
import Logging
import SQLiteNIO

/// Reports of comments on a single-process server with `--data-dir`: the queues in
/// `reports.sqlite` beside the archive, so a restart loses no report and lets no user report a
/// comment twice. A report is answered once it is on disk.
///
/// Each report also prunes a few entries last reported more than `ReportBounds.keptMilliseconds`
/// before it (in any queue, oldest first, by an index on the time of the last report), so the
/// work per report is bounded and the file does not keep abandoned queues for ever.
public final class ArchivedReports: ReportStore {
    private let database: SQLiteConnection
    /// A report is a few statements in one transaction: one at a time.
    private let serial = SerialWork()

    private init(database: SQLiteConnection) {
        self.database = database
    }

    /// Opens (or creates) `directory/reports.sqlite`.
    public static func open(directory: URL, logger: Logger) async throws -> ArchivedReports {
        let (database, _) = try await DurableDatabase.open(directory: directory, name: "reports.sqlite", logger: logger)
        // `comment` is the `ReportedComment` as JSON: the comment as it was when first reported.
        _ = try await database.query("""
            CREATE TABLE IF NOT EXISTS reported (queue TEXT NOT NULL, id TEXT NOT NULL, comment BLOB NOT NULL,
                hidden INTEGER NOT NULL DEFAULT 0, last INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (queue, id)) WITHOUT ROWID
            """)
        _ = try await database.query("""
            CREATE TABLE IF NOT EXISTS reports (queue TEXT NOT NULL, id TEXT NOT NULL, user TEXT NOT NULL,
                reason TEXT NOT NULL, text TEXT, ts INTEGER NOT NULL, PRIMARY KEY (queue, id, user)) WITHOUT ROWID
            """)
        // `last`: when the comment was last reported (ms), what expiry and eviction go by. Tables
        // written before it had no such column: it is added and filled from the reports kept.
        let columns = try await database.query("PRAGMA table_info(reported)").compactMap { $0.column("name")?.string }
        if !columns.contains("last") {
            _ = try await database.query("ALTER TABLE reported ADD COLUMN last INTEGER NOT NULL DEFAULT 0")
            _ = try await database.query("""
                UPDATE reported SET last = coalesce((SELECT max(ts) FROM reports p WHERE p.queue = reported.queue AND p.id = reported.id), 0)
                """)
        }
        _ = try await database.query("CREATE INDEX IF NOT EXISTS reported_by_last ON reported (last)")
        return ArchivedReports(database: database)
    }

    /// Closes the database.
    public func close() async {
        try? await database.close()
    }

    public func file(_ report: CommentReport, by user: String, of comment: ReportedComment, in queue: ReportQueue) async throws -> ReportOutcome {
        try await serial.run { [database] in
            let key: [SQLiteData] = [.text(queue.name), .text(comment.id)]
            _ = try await database.query("BEGIN IMMEDIATE")
            do {
                let outcome = try await Self.file(report, by: user, of: comment, key: key, queue: queue.name, database: database)
                _ = try await database.query("COMMIT")
                return outcome
            } catch {
                _ = try? await database.query("ROLLBACK")
                throw error
            }
        }
    }

    /// How many expired entries one report prunes at most: more than one, so pruning outpaces the
    /// entries reports add, and few, so no report pays for a month of them.
    private static let prunedPerReport = 16

    private static func file(
        _ report: CommentReport, by user: String, of comment: ReportedComment, key: [SQLiteData], queue: String, database: SQLiteConnection
    ) async throws -> ReportOutcome {
        try await pruneExpired(before: ReportBounds.expiryCutoff(now: report.ts), database: database)
        if try await !database.query("SELECT 1 FROM reports WHERE queue = ? AND id = ? AND user = ?", key + [.text(user)]).isEmpty {
            return .alreadyReported
        }
        let ts = SQLiteData.integer(Int(truncatingIfNeeded: report.ts))
        var hidden = false
        if let row = try await database.query("SELECT hidden FROM reported WHERE queue = ? AND id = ?", key).first {
            hidden = row.column("hidden")?.integer == 1
        } else {
            let queued = try await database.query("SELECT count(*) AS n FROM reported WHERE queue = ?", [.text(queue)]).first?.column("n")?.integer ?? 0
            if queued >= ReportBounds.commentsPerQueue {
                guard try await pushOutLeastReported(queue: queue, database: database) else { return .queueFull }
            }
            _ = try await database.query(
                "INSERT INTO reported (queue, id, comment, last) VALUES (?, ?, ?, ?)", key + [.blob(try WireCodec.encode(comment)), ts])
        }
        var reporters = try await count(key: key, database: database)
        if reporters < ReportBounds.reportsPerComment {
            _ = try await database.query(
                "INSERT INTO reports (queue, id, user, reason, text, ts) VALUES (?, ?, ?, ?, ?, ?)",
                key + [.text(user), .text(report.reason.rawValue), report.text.map(SQLiteData.text) ?? .null, ts])
            reporters += 1
        }
        _ = try await database.query("UPDATE reported SET last = max(last, ?) WHERE queue = ? AND id = ?", [ts] + key)
        return .counted(reporters: reporters, hidden: hidden)
    }

    /// Makes room in a full queue: deletes the entry with the fewest reporters (ties: the oldest
    /// last report, then the smallest id), never a hidden one; false when every entry is hidden.
    private static func pushOutLeastReported(queue: String, database: SQLiteConnection) async throws -> Bool {
        guard let id = try await database.query("""
            SELECT r.id AS id FROM reported r WHERE r.queue = ? AND r.hidden = 0
            ORDER BY (SELECT count(*) FROM reports p WHERE p.queue = r.queue AND p.id = r.id) ASC, r.last ASC, r.id ASC LIMIT 1
            """, [.text(queue)]).first?.column("id")?.string else { return false }
        try await delete(key: [.text(queue), .text(id)], database: database)
        return true
    }

    /// Deletes up to `prunedPerReport` entries, of any queue, last reported before `cutoff`.
    private static func pruneExpired(before cutoff: Int64, database: SQLiteConnection) async throws {
        let expired = try await database.query(
            "SELECT queue, id FROM reported WHERE last < ? ORDER BY last LIMIT ?",
            [.integer(Int(truncatingIfNeeded: cutoff)), .integer(prunedPerReport)])
        for row in expired {
            guard let queue = row.column("queue")?.string, let id = row.column("id")?.string else { continue }
            try await delete(key: [.text(queue), .text(id)], database: database)
        }
    }

    /// Deletes an entry and its reports; whether it was there.
    @discardableResult
    private static func delete(key: [SQLiteData], database: SQLiteConnection) async throws -> Bool {
        let removed = try await database.query("DELETE FROM reported WHERE queue = ? AND id = ? RETURNING 1", key)
        _ = try await database.query("DELETE FROM reports WHERE queue = ? AND id = ?", key)
        return !removed.isEmpty
    }

    /// Reports of one comment, clamped as read from disk to what a store may hold.
    private static func count(key: [SQLiteData], database: SQLiteConnection) async throws -> Int {
        let counted = try await database.query("SELECT count(*) AS n FROM reports WHERE queue = ? AND id = ?", key).first?.column("n")?.integer ?? 0
        return min(max(counted, 0), ReportBounds.reportsPerComment)
    }

    public func entries(in queue: ReportQueue, limit: Int) async throws -> [ReportEntry] {
        let limit = min(max(limit, 0), ReportBounds.commentsPerQueue)
        let rows = try await database.query("""
            SELECT r.id AS id, (SELECT count(*) FROM reports p WHERE p.queue = r.queue AND p.id = r.id) AS n,
                (SELECT min(ts) FROM reports p WHERE p.queue = r.queue AND p.id = r.id) AS first
            FROM reported r WHERE r.queue = ? ORDER BY n DESC, first ASC, r.id ASC LIMIT ?
            """, [.text(queue.name), .integer(limit)])
        var entries: [ReportEntry] = []
        for row in rows {
            guard let id = row.column("id")?.string, let entry = try await entry(id: id, in: queue) else { continue }
            entries.append(entry)
        }
        // Sorted again by the one order every store uses (equal counts tie on the first report).
        return entries.sorted(by: ReportEntry.queueOrder)
    }

    public func entry(id: String, in queue: ReportQueue) async throws -> ReportEntry? {
        let key: [SQLiteData] = [.text(queue.name), .text(id)]
        guard let row = try await database.query("SELECT comment, hidden FROM reported WHERE queue = ? AND id = ?", key).first,
              case .blob(let json)? = row.column("comment"),
              let comment = try? WireCodec.decoder.decode(ReportedComment.self, from: Data(json.readableBytesView)) else { return nil }
        let reports = try await database.query(
            "SELECT reason, text, ts FROM reports WHERE queue = ? AND id = ? ORDER BY ts DESC LIMIT ?",
            key + [.integer(ReportBounds.reportsPerComment)]
        ).compactMap { row -> CommentReport? in
            guard let reason = row.column("reason")?.string.flatMap(ReportReason.init(rawValue:)), let ts = row.column("ts")?.integer else { return nil }
            return CommentReport(reason: reason, text: row.column("text")?.string, ts: Int64(truncatingIfNeeded: ts))
        }
        return ReportEntry(comment: comment, reports: reports, hidden: row.column("hidden")?.integer == 1)
    }

    public func markHidden(id: String, in queue: ReportQueue) async throws -> Bool {
        try await serial.run { [database] in
            try await !database.query(
                "UPDATE reported SET hidden = 1 WHERE queue = ? AND id = ? RETURNING 1", [.text(queue.name), .text(id)]).isEmpty
        }
    }

    public func resolve(id: String, in queue: ReportQueue) async throws -> Bool {
        try await serial.run { [database] in
            let key: [SQLiteData] = [.text(queue.name), .text(id)]
            _ = try await database.query("BEGIN IMMEDIATE")
            do {
                let removed = try await Self.delete(key: key, database: database)
                _ = try await database.query("COMMIT")
                return removed
            } catch {
                _ = try? await database.query("ROLLBACK")
                throw error
            }
        }
    }
}
