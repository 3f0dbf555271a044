// Danmaku — a live-stream bullet-comment service.

import DanmakuBus
import DanmakuCore
import Foundation
import Logging
import SQLiteNIO

/// Likes of live comments on a single-process server with `--data-dir`: who liked which comment,
/// in `likes.sqlite` beside the archive, so a restart neither forgets a count nor lets a user
/// like a comment twice. A like is answered once it is on disk.
public final class ArchivedLikes: LikeStore {
    private let database: SQLiteConnection
    /// A like is two statements (the insert, the count): one like at a time.
    private let serial = SerialWork()

    private init(database: SQLiteConnection) {
        self.database = database
    }

    /// Opens (or creates) `directory/likes.sqlite`.
    public static func open(directory: URL, logger: Logger) async throws -> ArchivedLikes {
        let (database, _) = try await DurableDatabase.open(directory: directory, name: "likes.sqlite", logger: logger)
        _ = try await database.query("""
            CREATE TABLE IF NOT EXISTS likes (room TEXT NOT NULL, id TEXT NOT NULL, user TEXT NOT NULL,
                PRIMARY KEY (room, id, user)) WITHOUT ROWID
            """)
        return ArchivedLikes(database: database)
    }

    /// Closes the database.
    public func close() async {
        try? await database.close()
    }

    public func like(room: RoomID, id: String, user: String) async throws -> (count: Int, added: Bool) {
        try await serial.run { [database] in
            let inserted = try await database.query(
                "INSERT OR IGNORE INTO likes (room, id, user) VALUES (?, ?, ?) RETURNING 1", [.text(room.value), .text(id), .text(user)])
            let count = try await database.query(
                "SELECT count(*) AS likes FROM likes WHERE room = ? AND id = ?", [.text(room.value), .text(id)]
            ).first?.column("likes")?.integer ?? 0
            return (count, !inserted.isEmpty)
        }
    }
}
