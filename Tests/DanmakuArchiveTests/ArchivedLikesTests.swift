import DanmakuArchive
import DanmakuBus
import DanmakuCore
import Foundation
import Logging
import Testing

/// Likes and video pools on disk (`--data-dir`): what a restart must not forget.
@Suite struct ArchivedLikesTests {
    @Test func aRestartKeepsEveryCountAndEveryLiker() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("danmaku-likes-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let room = RoomID("lk")!
        let first = try await ArchivedLog.open(directory: directory, historyCapacity: 10, logger: Logger(label: "test"))
        #expect(try await first.likes.like(room: room, id: "c1", user: "ann") == (1, true))
        #expect(try await first.likes.like(room: room, id: "c1", user: "bob") == (2, true))
        #expect(try await first.likes.like(room: room, id: "c1", user: "ann") == (2, false))
        #expect(try await first.likes.like(room: RoomID("other")!, id: "c1", user: "ann") == (1, true), "per room")
        await first.close()

        let second = try await ArchivedLog.open(directory: directory, historyCapacity: 10, logger: Logger(label: "test"))
        #expect(try await second.likes.like(room: room, id: "c1", user: "ann") == (2, false), "ann is remembered")
        #expect(try await second.likes.like(room: room, id: "c1", user: "cid") == (3, true))
        await second.close()
    }

    @Test func aVideoPoolNumbersSkipsKnownIdsAndStaysWithinItsLimit() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("danmaku-pool-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let archive = try await ArchivedLog.open(directory: directory, historyCapacity: 10, logger: Logger(label: "test"))
        let video = VideoID("film")!
        func comment(_ id: String, at offset: Int64) -> VideoComment {
            VideoComment(seq: 0, id: id, video: "film", offsetMs: offset, user: CommentAuthor(id: "u", name: "U"), text: id,
                         color: "#ffffff", mode: .scroll, ts: 1)
        }
        let added = try await archive.videos.add([comment("b", at: 500), comment("a", at: 100)], video: video, limit: 3, origin: .post(startsPool: true))
        #expect(added.map(\.seq) == [1, 2])
        #expect(try await archive.videos.add([comment("a", at: 100), comment("c", at: 100)], video: video, limit: 3, origin: .post(startsPool: true)).map(\.id) == ["c"],
                "a known id is skipped")
        await #expect(throws: VideoPoolFull(limit: 3)) { try await archive.videos.add([comment("d", at: 1)], video: video, limit: 3, origin: .post(startsPool: true)) }
        let all = try await archive.videos.comments(video: video, segment: 0, limit: 100)
        #expect(all.map(\.id) == ["a", "c", "b"], "offset order, then seq")
        #expect(try await archive.videos.remove(video: video, id: "a"))
        #expect(try await archive.videos.add([comment("d", at: 1)], video: video, limit: 3, origin: .post(startsPool: true)).map(\.seq) == [4], "seqs are never reused")
        await archive.close()
    }

    @Test func aCappedSegmentReadReturnsOnlyTheHighestRanked() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("danmaku-pool-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let archive = try await ArchivedLog.open(directory: directory, historyCapacity: 10, logger: Logger(label: "test"))
        try await VideoPoolContract.aCappedSegmentReadReturnsOnlyTheHighestRanked(archive.videos)
        await archive.close()
    }

    @Test func viewersNeitherStartPoolsNorBlockAPublish() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("danmaku-pool-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let archive = try await ArchivedLog.open(directory: directory, historyCapacity: 10, logger: Logger(label: "test"))
        try await VideoPoolContract.viewersNeitherStartPoolsNorBlockAPublish(archive.videos)
        await archive.close()
    }

    @Test func allCommentsComeInOffsetOrderAcrossSegments() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("danmaku-pool-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let archive = try await ArchivedLog.open(directory: directory, historyCapacity: 10, logger: Logger(label: "test"))
        try await VideoPoolContract.allCommentsComeInOffsetOrderAcrossSegments(archive.videos)
        await archive.close()
    }
}
