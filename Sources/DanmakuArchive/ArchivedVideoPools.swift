// Danmaku — a live-stream bullet-comment service.

import DanmakuBus
import DanmakuCore
import Foundation
import Logging
import SQLiteNIO

/// Video pools of a single-process server with `--data-dir`: `videos.sqlite` beside the
/// comment archive (a file of its own, so its writes never wait for the live comments' writer).
/// A post is answered only once its comment is on disk (WAL, synchronous FULL).
public final class ArchivedVideoPools: VideoPoolStore {
    private let database: SQLiteConnection
    /// Every statement goes through it: a transaction's statements must not interleave.
    private let serial = SerialWork()

    private init(database: SQLiteConnection) {
        self.database = database
    }

    /// Opens (or creates) `directory/videos.sqlite`.
    public static func open(directory: URL, logger: Logger) async throws -> ArchivedVideoPools {
        let (database, _) = try await DurableDatabase.open(directory: directory, name: "videos.sqlite", logger: logger)
        // Each pool's last seq (never reused, removed comments included) and size.
        _ = try await database.query("""
            CREATE TABLE IF NOT EXISTS videos (video TEXT PRIMARY KEY, last_seq INTEGER NOT NULL, count INTEGER NOT NULL) WITHOUT ROWID
            """)
        _ = try await database.query("""
            CREATE TABLE IF NOT EXISTS video_comments (
                video TEXT NOT NULL, id TEXT NOT NULL, seq INTEGER NOT NULL, offset_ms INTEGER NOT NULL, json BLOB NOT NULL,
                PRIMARY KEY (video, id)) WITHOUT ROWID
            """)
        _ = try await database.query("""
            CREATE TABLE IF NOT EXISTS video_likes (video TEXT NOT NULL, id TEXT NOT NULL, user TEXT NOT NULL,
                PRIMARY KEY (video, id, user)) WITHOUT ROWID
            """)
        try await addRanks(database)
        // Comments ever published to each pool, counted apart from posts (added later: pools from
        // before it count everything as posted).
        let columns = try await database.query("PRAGMA table_info(videos)").compactMap { $0.column("name")?.string }
        if !columns.contains("published") {
            _ = try await database.query("ALTER TABLE videos ADD COLUMN published INTEGER NOT NULL DEFAULT 0")
        }
        // A capped segment read walks this index from the top and stops at the cap.
        _ = try await database.query("CREATE INDEX IF NOT EXISTS video_comments_by_rank ON video_comments (video, segment, rank)")
        return ArchivedVideoPools(database: database)
    }

    /// Each comment's segment and `VideoComment.rank` (added later: files from before them get
    /// them when they open, once).
    private static func addRanks(_ database: SQLiteConnection) async throws {
        let columns = try await database.query("PRAGMA table_info(video_comments)").compactMap { $0.column("name")?.string }
        guard !columns.contains("rank") else { return }
        _ = try await database.query("ALTER TABLE video_comments ADD COLUMN segment INTEGER NOT NULL DEFAULT 0")
        _ = try await database.query("ALTER TABLE video_comments ADD COLUMN rank INTEGER NOT NULL DEFAULT 0")
        // Reads went by offset before; they go by rank now.
        _ = try await database.query("DROP INDEX IF EXISTS video_comments_by_offset")
        let rows = try await database.query("""
            SELECT video, json, (SELECT count(*) FROM video_likes l WHERE l.video = c.video AND l.id = c.id) AS likes FROM video_comments c
            """)
        for row in rows {
            guard let video = row.column("video")?.string, let comment = comment(from: row) else { continue }
            _ = try await database.query(
                "UPDATE video_comments SET segment = ?, rank = ? WHERE video = ? AND id = ?",
                [.integer(Int(truncatingIfNeeded: VideoSegment.number(of: comment.offsetMs))),
                 .integer(Int(truncatingIfNeeded: VideoComment.rank(privileged: comment.isPrivileged, likes: comment.likes ?? 0, seq: comment.seq))),
                 .text(video), .text(comment.id)])
        }
    }

    /// Closes the database.
    public func close() async {
        try? await database.close()
    }

    public func add(_ comments: [VideoComment], video: VideoID, limit: Int, origin: VideoCommentOrigin) async throws -> [VideoComment] {
        try await serial.run { [database] in
            _ = try await database.query("BEGIN IMMEDIATE")
            do {
                let row = try await database.query("SELECT last_seq, count, published FROM videos WHERE video = ?", [.text(video.value)]).first
                if row == nil, origin == .post(startsPool: false) { throw VideoPoolMissing() }
                // Clamped as read from disk: a pool never holds 2^62 comments, so `lastSeq + 1`,
                // `count + 1` and `published + 1` cannot overflow.
                var lastSeq = min(max(row?.column("last_seq")?.integer ?? 0, 0), Int.max / 2)
                var count = min(max(row?.column("count")?.integer ?? 0, 0), Int.max / 2)
                var published = min(max(row?.column("published")?.integer ?? 0, 0), Int.max / 2)
                var added: [VideoComment] = []
                for comment in comments {
                    var numbered = comment
                    numbered.seq = UInt64(clamping: lastSeq + 1)
                    numbered.likes = nil
                    // An id already in the pool is ignored (RETURNING gives no row).
                    let inserted = try await database.query(
                        """
                        INSERT OR IGNORE INTO video_comments (video, id, seq, offset_ms, json, segment, rank) VALUES (?, ?, ?, ?, ?, ?, ?)
                        RETURNING seq
                        """,
                        [.text(video.value), .text(comment.id), .integer(lastSeq + 1), .integer(Int(clamping: comment.offsetMs)),
                         .blob(try WireCodec.encode(numbered)), .integer(Int(truncatingIfNeeded: VideoSegment.number(of: comment.offsetMs))),
                         .integer(Int(truncatingIfNeeded: VideoComment.rank(privileged: numbered.isPrivileged, likes: 0, seq: numbered.seq)))])
                    guard !inserted.isEmpty else { continue }
                    lastSeq += 1
                    count += 1
                    switch origin {
                    case .post: if count - published > limit { throw VideoPoolFull(limit: limit) }
                    case .published:
                        published += 1
                        if published > limit { throw VideoPoolFull(limit: limit) }
                    }
                    added.append(numbered)
                }
                _ = try await database.query("""
                    INSERT INTO videos (video, last_seq, count, published) VALUES (?, ?, ?, ?) ON CONFLICT (video) DO UPDATE SET
                        last_seq = excluded.last_seq, count = excluded.count, published = excluded.published
                    """, [.text(video.value), .integer(lastSeq), .integer(count), .integer(published)])
                _ = try await database.query("COMMIT")
                return added
            } catch {
                _ = try? await database.query("ROLLBACK")
                throw error
            }
        }
    }

    public func comments(video: VideoID, segment: Int64, limit: Int) async throws -> [VideoComment] {
        try await serial.run { [database] in
            let rows = try await database.query("""
                SELECT json, (SELECT count(*) FROM video_likes l WHERE l.video = c.video AND l.id = c.id) AS likes
                FROM video_comments c WHERE video = ? AND segment = ? ORDER BY rank DESC LIMIT ?
                """, [.text(video.value), .integer(Int(truncatingIfNeeded: segment)), .integer(max(limit, 0))])
            return rows.compactMap(Self.comment(from:)).sorted { ($0.offsetMs, $0.seq) < ($1.offsetMs, $1.seq) }
        }
    }

    public func allComments(video: VideoID, limit: Int) async throws -> [VideoComment] {
        try await serial.run { [database] in
            let rows = try await database.query("""
                SELECT json, (SELECT count(*) FROM video_likes l WHERE l.video = c.video AND l.id = c.id) AS likes
                FROM video_comments c WHERE video = ? ORDER BY offset_ms, seq LIMIT ?
                """, [.text(video.value), .integer(max(limit, 0))])
            return rows.compactMap(Self.comment(from:))
        }
    }

    public func comment(video: VideoID, id: String) async throws -> VideoComment? {
        try await serial.run { [database] in
            try await Self.comment(video: video, id: id, on: database)
        }
    }

    public func like(video: VideoID, id: String, user: String) async throws -> (count: Int, added: Bool)? {
        try await serial.run { [database] in
            guard let comment = try await Self.comment(video: video, id: id, on: database) else { return nil }
            let inserted = try await database.query(
                "INSERT OR IGNORE INTO video_likes (video, id, user) VALUES (?, ?, ?) RETURNING 1", [.text(video.value), .text(id), .text(user)])
            let count = try await database.query(
                "SELECT count(*) AS likes FROM video_likes WHERE video = ? AND id = ?", [.text(video.value), .text(id)]
            ).first?.column("likes")?.integer ?? 0
            if !inserted.isEmpty {
                let rank = VideoComment.rank(privileged: comment.isPrivileged, likes: count, seq: comment.seq)
                _ = try await database.query(
                    "UPDATE video_comments SET rank = ? WHERE video = ? AND id = ?",
                    [.integer(Int(truncatingIfNeeded: rank)), .text(video.value), .text(id)])
            }
            return (count, !inserted.isEmpty)
        }
    }

    public func remove(video: VideoID, id: String) async throws -> Bool {
        try await serial.run { [database] in
            _ = try await database.query("BEGIN IMMEDIATE")
            do {
                let removed = try await database.query(
                    "DELETE FROM video_comments WHERE video = ? AND id = ? RETURNING seq", [.text(video.value), .text(id)])
                if !removed.isEmpty {
                    _ = try await database.query("DELETE FROM video_likes WHERE video = ? AND id = ?", [.text(video.value), .text(id)])
                    _ = try await database.query("UPDATE videos SET count = count - 1 WHERE video = ?", [.text(video.value)])
                }
                _ = try await database.query("COMMIT")
                return !removed.isEmpty
            } catch {
                _ = try? await database.query("ROLLBACK")
                throw error
            }
        }
    }

    private static func comment(video: VideoID, id: String, on database: SQLiteConnection) async throws -> VideoComment? {
        let rows = try await database.query("""
            SELECT json, (SELECT count(*) FROM video_likes l WHERE l.video = c.video AND l.id = c.id) AS likes
            FROM video_comments c WHERE video = ? AND id = ?
            """, [.text(video.value), .text(id)])
        return rows.first.flatMap(comment(from:))
    }

    private static func comment(from row: SQLiteRow) -> VideoComment? {
        guard case .blob(let json)? = row.column("json"), var comment = try? WireCodec.decoder.decode(VideoComment.self, from: Data(json.readableBytesView)) else { return nil }
        let likes = row.column("likes")?.integer ?? 0
        comment.likes = likes > 0 ? likes : nil
        return comment
    }
}
