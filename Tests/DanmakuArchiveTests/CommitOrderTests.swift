import DanmakuArchive
import DanmakuBus
import DanmakuCore
import Foundation
import Logging
import NIOCore
import NIOPosix
import SQLiteNIO
import Testing

/// What history shows is on disk: a seq is never visible before its commit (a `kill -9` could
/// otherwise hand it out again), and a retract is never undone by a write still pending.
@Suite struct CommitOrderTests {
    func unnumbered(_ index: Int, room: RoomID) throws -> ByteBuffer {
        Comment(
            seq: 0, id: UUID().uuidString.lowercased(), room: room.value, user: CommentAuthor(id: "u", name: "U"),
            text: "comment \(index)", color: "#ffffff", mode: .scroll, ts: 1_700_000_000_000 + Int64(index)
        ).unnumberedJSON()
    }

    func withArchive(_ body: (ArchivedLog, URL) async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("danmaku-commit-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let archive = try await ArchivedLog.open(directory: directory, historyCapacity: 1000, logger: Logger(label: "test"))
        try await archive.withWriter { try await body(archive, directory) }
    }

    @Test func historyNeverShowsASeqBeforeItIsCommitted() async throws {
        let room = RoomID("co")!
        try await withArchive { archive, directory in
            let reader = try await SQLiteConnection.open(
                storage: .file(path: directory.appendingPathComponent("danmaku.sqlite").path), logger: Logger(label: "reader"))
            let loop = MultiThreadedEventLoopGroup.singleton.next()
            let bodies = try (0..<400).map { try unnumbered($0, room: room) }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for body in bodies {
                    group.addTask { _ = try await archive.append(room: room, unnumbered: body) }
                }
                // While they commit: whatever history shows must already be on disk.
                var checks = 0
                while true {
                    let shown = try await archive.snapshot(room: room, since: nil, limit: 1, on: loop).get().lastSeq
                    let committed = try await reader.query("SELECT max(seq) AS top FROM comments WHERE room = ?", [.text(room.value)])
                        .first?.column("top")?.integer ?? 0
                    #expect(UInt64(committed) >= shown, "history shows seq \(shown), disk holds up to \(committed)")
                    checks += 1
                    if shown == 400 { break }
                }
                try await group.waitForAll()
                #expect(checks > 1)
            }
            try await reader.close()
        }
    }

    @Test func aRetractedCommentStaysRetractedAfterReopening() async throws {
        let room = RoomID("rt")!
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("danmaku-retract-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let archive = try await ArchivedLog.open(directory: directory, historyCapacity: 1000, logger: Logger(label: "test"))
        // A moderator retracts every even comment the moment history shows it, while later
        // appends are still being written.
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let bodies = try (0..<200).map { try unnumbered($0, room: room) }
        let retracted = try await archive.withWriter { try await withThrowingTaskGroup(of: Set<String>.self) { group in
            group.addTask {
                try await withThrowingTaskGroup(of: Void.self) { appends in
                    // A few writers in turn, so that appends keep queueing behind each commit.
                    for writer in 0..<4 {
                        appends.addTask {
                            for body in bodies[(writer * 50)..<(writer * 50 + 50)] { _ = try await archive.append(room: room, unnumbered: body) }
                        }
                    }
                    try await appends.waitForAll()
                }
                return []
            }
            group.addTask {
                var done = Set<String>()
                while done.count < 100 {
                    for stored in try await archive.snapshot(room: room, since: 0, limit: 1000, on: loop).get().comments {
                        let comment = try stored.decoded()
                        guard let index = Int(comment.text.split(separator: " ")[1]), index.isMultiple(of: 2), !done.contains(comment.id) else { continue }
                        #expect(try await archive.retract(room: room, id: comment.id, reason: nil) == stored.seq)
                        done.insert(comment.id)
                    }
                }
                return done
            }
            return try await group.reduce(into: Set<String>()) { $0.formUnion($1) }
        } }
        let reopened = try await ArchivedLog.open(directory: directory, historyCapacity: 1000, logger: Logger(label: "test"))
        let history = try await reopened.snapshot(room: room, since: 0, limit: 1000, on: MultiThreadedEventLoopGroup.singleton.next()).get()
        let ids = Set(try history.comments.map { try $0.decoded().id })
        #expect(history.lastSeq == 200)
        #expect(history.comments.count == 100)
        #expect(ids.isDisjoint(with: retracted))
        await reopened.close()
    }

    /// Past --max-rooms the archive's memory lets rooms go, but a room that comes back is loaded
    /// again: its numbering continues in the same epoch and its history is all there.
    @Test func aRoomThatLeftMemoryContinuesItsNumbering() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("danmaku-evict-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let keep = RoomID("keep")!
        let archive = try await ArchivedLog.open(
            directory: directory, historyCapacity: 100, retention: RoomRetention(idleMilliseconds: nil, maxRooms: 10), logger: Logger(label: "test"))
        let before = try await archive.withWriter {
            for index in 0..<3 { _ = try await archive.append(room: keep, unnumbered: try unnumbered(index, room: keep)) }
            let before = try await archive.snapshot(room: keep, since: 0, limit: 100, on: loop).get()
            for index in 0..<30 {
                let other = RoomID("other\(index)")!
                _ = try await archive.append(room: other, unnumbered: try unnumbered(index, room: other))
            }
            let again = try await archive.append(room: keep, unnumbered: try unnumbered(3, room: keep))
            #expect(again.seq == 4, "numbering continues")
            let after = try await archive.snapshot(room: keep, since: 0, limit: 100, on: loop).get()
            #expect(after.epoch == before.epoch && after.comments.map(\.seq) == [1, 2, 3, 4])
            return before
        }
        // Reopened: nothing is loaded until asked for, and then everything is there.
        let reopened = try await ArchivedLog.open(directory: directory, historyCapacity: 100, logger: Logger(label: "test"))
        let loaded = try await reopened.snapshot(room: keep, since: 0, limit: 100, on: loop).get()
        #expect(loaded.lastSeq == 4 && loaded.epoch == before.epoch && loaded.comments.count == 4)
        let next = try await reopened.withWriter { try await reopened.append(room: keep, unnumbered: try unnumbered(4, room: keep)) }
        #expect(next.seq == 5)
    }

    /// Reading archived rooms loads them into memory: --max-rooms holds for reads as for posts.
    @Test func readingManyArchivedRoomsKeepsTheMostRoomsInMemory() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("danmaku-reads-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let retention = RoomRetention(idleMilliseconds: nil, maxRooms: 10)
        let archive = try await ArchivedLog.open(directory: directory, historyCapacity: 10, retention: retention, logger: Logger(label: "test"))
        let rooms = (0..<40).map { RoomID("archived\($0)")! }
        try await archive.withWriter {
            for (index, room) in rooms.enumerated() { _ = try await archive.append(room: room, unnumbered: try unnumbered(index, room: room)) }
        }
        let reopened = try await ArchivedLog.open(directory: directory, historyCapacity: 10, retention: retention, logger: Logger(label: "test"))
        for room in rooms {
            let snapshot = try await reopened.snapshot(room: room, since: 0, limit: 10, on: loop).get()
            #expect(snapshot.comments.count == 1, "each room's history is read off the disk")
            #expect(reopened.roomsInMemory <= 10)
        }
        await reopened.close()
    }

    /// The writer is a `Service`: once it has stopped, every append it took was committed and a
    /// later one is refused at once, never left waiting for a writer that will not come.
    @Test func anAppendAfterTheWriterStoppedIsRefusedNotLeftWaiting() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("danmaku-stop-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let room = RoomID("st")!
        let archive = try await ArchivedLog.open(directory: directory, historyCapacity: 10, logger: Logger(label: "test"))
        let stored = try await archive.withWriter {
            try await withThrowingTaskGroup(of: UInt64.self) { group in
                for index in 0..<50 { group.addTask { try await archive.append(room: room, unnumbered: try unnumbered(index, room: room)).seq } }
                return try await group.reduce(into: [UInt64]()) { $0.append($1) }
            }
        }
        #expect(Set(stored) == Set(1...50))
        await #expect(throws: (any Error).self) { try await archive.append(room: room, unnumbered: try unnumbered(50, room: room)) }
        let reopened = try await ArchivedLog.open(directory: directory, historyCapacity: 10, logger: Logger(label: "test"))
        #expect(try await reopened.snapshot(room: room, since: nil, limit: 1, on: MultiThreadedEventLoopGroup.singleton.next()).get().lastSeq == 50)
        await reopened.close()
    }
}
