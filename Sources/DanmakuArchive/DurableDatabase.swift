// Danmaku — a live-stream bullet-comment service.

import Foundation
import Logging
import SQLiteNIO

/// The archive's SQLite files, opened one way: WAL with `synchronous=FULL`, so a commit is on
/// disk when it returns (what lets a 201 promise the comment survives) and readers do not block it.
enum DurableDatabase {
    /// Opens (or creates) `directory/name`, and the directory if needed.
    static func open(directory: URL, name: String, logger: Logger) async throws -> (SQLiteConnection, path: String) {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let path = directory.appendingPathComponent(name).path
        let database = try await SQLiteConnection.open(storage: .file(path: path), logger: logger)
        _ = try await database.query("PRAGMA journal_mode=WAL")
        _ = try await database.query("PRAGMA synchronous=FULL")
        return (database, path)
    }
}
