// Danmaku — a live-stream bullet-comment service.

import DanmakuBus
import DanmakuCore
import Foundation
import Logging
import NIOCore
import SQLiteNIO
import ServiceLifecycle
import Synchronization

/// The durable archive of a single-process server (`--data-dir`): every accepted comment in an
/// SQLite database, written in batches (one transaction per group of appends) by one writer, so
/// an `append` returns (and the post is answered 201) only once its comment is on disk. The
/// writer is `run()`, a `Service` of the server's group (or `withWriter` outside one): appends
/// wait for it.
///
/// Sequencing, history and fan-out stay in the `MemoryBus`; a comment enters its history only
/// once committed, so no viewer sees a seq that a crash could hand out again. On start the
/// archive gives each room back its last seq and its recent history, so a restart, even after
/// `kill -9`, loses no accepted comment and numbering continues (in the same epoch: the archive
/// keeps every room, so its memory forgets none).
public final class ArchivedLog: CommentBus, CommentLog, ReplayStore, Service, CustomStringConvertible {
    private let memory: MemoryBus
    private let database: SQLiteConnection
    private let logger: Logger

    private struct Pending {
        var comment: EncodedComment
        var ts: Int64
        var done: CheckedContinuation<EncodedComment, any Error>
    }

    /// Appends waiting for the writer, and whether it has stopped (later appends are refused).
    private let queue = Mutex<(pending: [Pending], stopped: Bool)>(([], false))
    /// Writes to the database one at a time: a retraction or a stream's start sent while the
    /// writer's transaction is open would otherwise become part of it (and be undone with it).
    private let writes = SerialWork()
    /// Wakes the writer when an append is queued (one wake-up is kept: it finds every append).
    private let wakeUps: AsyncStream<Void>
    private let wakeWriter: AsyncStream<Void>.Continuation

    private let historyCapacity: Int
    /// The comment pools of recorded videos, in `videos.sqlite` beside the archive.
    public let videos: ArchivedVideoPools
    /// Who liked which live comment, in `likes.sqlite` beside the archive.
    public let likes: ArchivedLikes
    /// The queues of reported comments, in `reports.sqlite` beside the archive.
    public let reports: ArchivedReports

    private init(
        memory: MemoryBus, database: SQLiteConnection, videos: ArchivedVideoPools, likes: ArchivedLikes, reports: ArchivedReports,
        historyCapacity: Int, logger: Logger
    ) {
        self.memory = memory
        self.videos = videos
        self.likes = likes
        self.reports = reports
        self.database = database
        self.historyCapacity = historyCapacity
        self.logger = logger
        (wakeUps, wakeWriter) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Opens (or creates) `directory/danmaku.sqlite`. Rooms are loaded into memory when first
    /// used (their last seq, epoch and recent history) and leave it under `retention` like the
    /// memory bus's; the archive keeps them all, so a room that comes back continues its numbering.
    public static func open(
        directory: URL, historyCapacity: Int, retention: RoomRetention = .forever, logger: Logger
    ) async throws -> ArchivedLog {
        let (database, path) = try await DurableDatabase.open(directory: directory, name: "danmaku.sqlite", logger: logger)
        _ = try await database.query("""
            CREATE TABLE IF NOT EXISTS comments (
                room TEXT NOT NULL, seq INTEGER NOT NULL, ts INTEGER NOT NULL, json BLOB NOT NULL,
                PRIMARY KEY (room, seq)) WITHOUT ROWID
            """)
        _ = try await database.query("CREATE INDEX IF NOT EXISTS comments_by_time ON comments (room, ts)")
        _ = try await database.query("""
            CREATE TABLE IF NOT EXISTS streams (
                id INTEGER PRIMARY KEY AUTOINCREMENT, room TEXT NOT NULL, started INTEGER NOT NULL, ended INTEGER)
            """)
        _ = try await database.query("CREATE INDEX IF NOT EXISTS streams_by_room ON streams (room, id)")
        // Seqs are never reused, retracted comments included: the highest seq ever given is kept.
        _ = try await database.query("CREATE TABLE IF NOT EXISTS rooms (room TEXT PRIMARY KEY, last_seq INTEGER NOT NULL) WITHOUT ROWID")
        // The numbering's epoch (added later: archives from before it get one when they open).
        let columns = try await database.query("PRAGMA table_info(rooms)").compactMap { $0.column("name")?.string }
        if !columns.contains("epoch") {
            _ = try await database.query("ALTER TABLE rooms ADD COLUMN epoch INTEGER NOT NULL DEFAULT 0")
            _ = try await database.query("UPDATE rooms SET epoch = ?", [.integer(Int(truncatingIfNeeded: currentTimeMillis()))])
        }

        var kept = retention
        kept.startsOverWhenIdle = false  // a room left memory is loaded again, its numbering continuing
        let memory = MemoryBus(historyCapacity: historyCapacity, retention: kept)
        let videos = try await ArchivedVideoPools.open(directory: directory, logger: logger)
        let likes = try await ArchivedLikes.open(directory: directory, logger: logger)
        let reports = try await ArchivedReports.open(directory: directory, logger: logger)
        logger.info("archive opened", metadata: ["path": "\(path)"])
        return ArchivedLog(
            memory: memory, database: database, videos: videos, likes: likes, reports: reports, historyCapacity: historyCapacity, logger: logger)
    }

    /// Puts `room` back in memory from the archive unless it is there; whether the archive has it.
    @discardableResult
    private func load(_ room: RoomID) async throws -> Bool {
        if memory.epoch(of: room) != nil { return true }
        let rows = try await database.query("SELECT last_seq, epoch FROM rooms WHERE room = ?", [.text(room.value)])
        guard let row = rows.first, let lastSeq = row.column("last_seq")?.integer, let epoch = row.column("epoch")?.integer else {
            return false
        }
        let comments = try await database.query(
            "SELECT json FROM comments WHERE room = ? ORDER BY seq DESC LIMIT ?", [.text(room.value), .integer(historyCapacity)])
        let history = comments.reversed().compactMap { row -> EncodedComment? in
            guard case .blob(let json)? = row.column("json") else { return nil }
            return EncodedComment(numberedJSON: json, room: room)
        }
        memory.restore(room: room, epoch: Int64(truncatingIfNeeded: epoch), lastSeq: UInt64(clamping: lastSeq), history: history)
        return true
    }

    /// How many rooms are held in memory (at most `--max-rooms`, whether posts or reads brought
    /// them back).
    public var roomsInMemory: Int { memory.roomCount }

    public var description: String { "archive" }

    /// The writer: commits queued appends, one transaction per batch, until graceful shutdown
    /// (or cancellation); then commits what is still queued, refuses later appends (503: the
    /// client retries on another node, or after the restart) and closes the database.
    public func run() async {
        for await _ in wakeUps.cancelOnGracefulShutdown() {
            await commitQueued()
        }
        queue.withLock { $0.stopped = true }
        // Awaited here, so it does not outlive the writer; a task of its own so that the last
        // commit and the close do not run as part of a cancelled task (a forced stop), whatever
        // the database calls make of cancellation.
        await Task {
            await commitQueued()
            await close()
        }.value
    }

    /// Runs `body` with the writer running, for callers outside a `ServiceGroup`; the writer
    /// stops (committing what is queued) and the database closes when `body` returns.
    public func withWriter<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await self.run() }
            // Ends the writer's wake-ups: it commits what is queued, then stops.
            defer { wakeWriter.finish() }
            return try await body()
        }
    }

    /// Closes the database (on shutdown, after the last append was answered; `run()` does so
    /// when it ends).
    public func close() async {
        await videos.close()
        await likes.close()
        await reports.close()
        try? await database.close()
    }

    // MARK: CommentLog

    /// Waits for the writer (`run()`, or `withWriter`): an archive that nothing runs answers no
    /// append.
    public func append(room: RoomID, unnumbered: ByteBuffer) async throws -> EncodedComment {
        let archived = try await load(room)
        // A comment that fails to commit was never in history: its seq stays a hole.
        return try await withCheckedThrowingContinuation { continuation in
            enqueue(room: room, unnumbered: unnumbered, archived: archived, done: continuation)
        }
    }

    public func snapshot(room: RoomID, since: UInt64?, limit: Int, retracted: Bool, on eventLoop: any EventLoop) -> EventLoopFuture<HistorySnapshot> {
        if memory.epoch(of: room) != nil { return memory.snapshot(room: room, since: since, limit: limit, retracted: retracted, on: eventLoop) }
        let memory = self.memory
        return eventLoop.makeFutureWithTask { try await self.load(room) }.flatMap { _ in
            memory.snapshot(room: room, since: since, limit: limit, retracted: retracted, on: eventLoop)
        }
    }

    /// History in memory holds every comment of the archived room a lookup could find.
    public func comment(room: RoomID, id: String) async throws -> EncodedComment? {
        try await load(room)
        return try await memory.comment(room: room, id: id)
    }

    /// Off the disk first, then out of history: a retract that fails leaves both as they were,
    /// and only committed comments can be found (so none is written back after its retract).
    public func retract(room: RoomID, id: String, reason: RetractReason?) async throws -> UInt64? {
        try await load(room)
        guard let seq = memory.storedSeq(room: room, id: id) else { return nil }
        _ = try await writes.run { [database] in
            try await database.query("DELETE FROM comments WHERE room = ? AND seq = ?", [.text(room.value), .integer(Int(clamping: seq))])
        }
        return try await memory.retract(room: room, id: id, reason: reason)
    }

    // MARK: CommentBus

    public func publish(_ comments: [EncodedComment], room: RoomID) async throws {
        try await memory.publish(comments, room: room)
    }

    public func subscribe(_ room: RoomID, subscriber: any BusSubscriber, on eventLoop: any EventLoop) -> EventLoopFuture<Void> {
        memory.subscribe(room, subscriber: subscriber, on: eventLoop)
    }

    public func unsubscribe(_ room: RoomID, subscriber: any BusSubscriber) {
        memory.unsubscribe(room, subscriber: subscriber)
    }

    public func publishRetraction(seq: UInt64, id: String, room: RoomID, reason: RetractReason?) async throws {
        try await memory.publishRetraction(seq: seq, id: id, room: room, reason: reason)
    }

    public func publishLikes(_ likes: [LikeCount], room: RoomID) async throws {
        try await memory.publishLikes(likes, room: room)
    }

    // MARK: The writer

    /// Numbers and queues an append and wakes the writer. Whatever queues up while a
    /// transaction commits goes into the next one: the busier the room, the larger the batches.
    /// Numbered under the queue's lock, so the queue (and so history) is in seq order.
    private func enqueue(room: RoomID, unnumbered: ByteBuffer, archived: Bool, done: CheckedContinuation<EncodedComment, any Error>) {
        let refusal = queue.withLock { state -> ArchiveError? in
            if state.stopped { return ArchiveError("the archive is closed (shutting down)") }
            // An archived room that left memory since it was loaded would be numbered from 1 again,
            // over its stored comments: refused instead (a 503 the client retries).
            if archived, memory.epoch(of: room) == nil { return ArchiveError("room \(room) left memory while loading; retry") }
            let comment = memory.number(room: room, unnumbered: unnumbered)
            state.pending.append(Pending(comment: comment, ts: comment.acceptedAtMilliseconds ?? 0, done: done))
            return nil
        }
        if let refusal { return done.resume(throwing: refusal) }
        wakeWriter.yield()
    }

    /// Commits what is queued, batch after batch, until the queue is empty.
    private func commitQueued() async {
        while true {
            let batch = queue.withLock { state -> [Pending] in
                let batch = state.pending
                state.pending.removeAll()
                return batch
            }
            if batch.isEmpty { return }
            do {
                try await writes.run { try await self.write(batch) }
                for item in batch { memory.store(item.comment) }
                for item in batch { item.done.resume(returning: item.comment) }
            } catch {
                logger.error("archive write failed", metadata: ["error": "\(error)", "comments": "\(batch.count)"])
                for item in batch { item.done.resume(throwing: error) }
            }
        }
    }

    /// One transaction: the comments, and each room's highest seq.
    private func write(_ batch: [Pending]) async throws {
        try await database.withConnection { connection in
            _ = try await connection.query("BEGIN IMMEDIATE")
            do {
                var highest: [String: UInt64] = [:]
                for item in batch {
                    let room = item.comment.room.value
                    _ = try await connection.query(
                        "INSERT OR REPLACE INTO comments (room, seq, ts, json) VALUES (?, ?, ?, ?)",
                        [.text(room), .integer(Int(clamping: item.comment.seq)), .integer(Int(truncatingIfNeeded: item.ts)), .blob(item.comment.json)])
                    highest[room] = max(highest[room] ?? 0, item.comment.seq)
                }
                for (room, seq) in highest {
                    let epoch = RoomID(room).flatMap(self.memory.epoch(of:)) ?? currentTimeMillis()
                    _ = try await connection.query(
                        "INSERT INTO rooms (room, last_seq, epoch) VALUES (?, ?, ?) ON CONFLICT (room) DO UPDATE SET last_seq = max(last_seq, excluded.last_seq)",
                        [.text(room), .integer(Int(clamping: seq)), .integer(Int(truncatingIfNeeded: epoch))])
                }
                _ = try await connection.query("COMMIT")
            } catch {
                _ = try? await connection.query("ROLLBACK")
                throw error
            }
        }
    }

    // MARK: ReplayStore

    public func startStream(room: RoomID, now: Int64) async throws -> StreamRecord {
        if let live = try await stream(room: room, id: nil), live.endedAt == nil { return live }
        _ = try await writes.run { [database] in
            try await database.query("INSERT INTO streams (room, started) VALUES (?, ?)", [.text(room.value), .integer(Int(truncatingIfNeeded: now))])
        }
        guard let started = try await stream(room: room, id: nil) else { throw ArchiveError("the new stream was not found") }
        return started
    }

    public func endStream(room: RoomID, now: Int64) async throws -> StreamRecord? {
        guard var live = try await stream(room: room, id: nil), live.endedAt == nil else { return nil }
        _ = try await writes.run { [database, stream = live.stream] in
            try await database.query(
                "UPDATE streams SET ended = ? WHERE id = ?", [.integer(Int(truncatingIfNeeded: now)), .integer(Int(truncatingIfNeeded: stream))])
        }
        live.endedAt = now
        return live
    }

    public func stream(room: RoomID, id: Int64?) async throws -> StreamRecord? {
        let rows: [SQLiteRow]
        if let id {
            rows = try await database.query(
                "SELECT id, started, ended FROM streams WHERE room = ? AND id = ?", [.text(room.value), .integer(Int(truncatingIfNeeded: id))])
        } else {
            rows = try await database.query(
                "SELECT id, started, ended FROM streams WHERE room = ? ORDER BY id DESC LIMIT 1", [.text(room.value)])
        }
        guard let row = rows.first, let stream = row.column("id")?.integer, let started = row.column("started")?.integer else { return nil }
        let ended = row.column("ended").flatMap { $0 == .null ? nil : $0.integer }
        return StreamRecord(
            room: room.value, stream: Int64(truncatingIfNeeded: stream), startedAt: Int64(truncatingIfNeeded: started),
            endedAt: ended.map { Int64(truncatingIfNeeded: $0) })
    }

    public func comments(room: RoomID, from: Int64, to: Int64, limit: Int) async throws -> [EncodedComment] {
        let rows = try await database.query(
            "SELECT json FROM comments WHERE room = ? AND ts >= ? AND ts < ? ORDER BY ts, seq LIMIT ?",
            [.text(room.value), .integer(Int(truncatingIfNeeded: from)), .integer(Int(truncatingIfNeeded: to)), .integer(limit)])
        return rows.compactMap { row in
            guard case .blob(let json)? = row.column("json") else { return nil }
            return EncodedComment(numberedJSON: json, room: room)
        }
    }
}

struct ArchiveError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
