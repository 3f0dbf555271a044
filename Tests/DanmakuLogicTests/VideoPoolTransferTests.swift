import DanmakuBus
import DanmakuCore
import DanmakuFormats
import DanmakuLogic
import Foundation
import NIOCore
import Testing

/// Importing and exporting a video's pool: staff only, all or nothing, idempotent by the file's
/// ids, bounded by the pool's allowance, and a round trip that keeps every field.
@Suite struct VideoPoolTransferTests {
    /// Token "mod" moderates every room; any other token is a viewer.
    struct Staff: PostAuthenticator {
        func author(token: String?, room: RoomID, clientAddress: String) async -> Result<CommentAuthor, DanmakuError> {
            .success(CommentAuthor(id: token ?? "anon", name: ""))
        }

        func moderator(token: String?, room: RoomID?) async -> Result<CommentAuthor, DanmakuError> {
            guard let token else { return .failure(.missingToken) }
            return token == "mod" ? .success(CommentAuthor(id: "m1", name: "Mia", role: "moderator")) : .failure(.notAModerator)
        }
    }

    static let file = """
        <?xml version="1.0" encoding="UTF-8"?>
        <i>
          <chatid>1</chatid>
          <d p="1.5,1,25,16777215,1712345678,0,9f3a1b2c,1001">第一条 & more</d>
          <d p="2.25,5,36,16711680,1712345679,1,deadbeef,1002">字幕 subtitle</d>
          <d p="3,4,18,255,1712345680,0,abc123,1003">bottom &lt;3</d>
          <d p="4.125,6,25,65280,1712345681,0,abc123,1004">reverse ←</d>
          <d p="5,7,25,0,1712345682,0,abc123,1005">[positioned]</d>
        </i>
        """.replacingOccurrences(of: "& more", with: "&amp; more")

    static func transfer(_ videos: MemoryVideoPools = MemoryVideoPools(), configure: (inout LogicConfiguration) -> Void = { _ in })
        -> VideoPoolTransfer {
        var configuration = LogicConfiguration()
        configure(&configuration)
        return VideoPoolTransfer(videos: videos, authenticator: Staff(), configuration: configuration)
    }

    let video = VideoID("film")!

    @Test func anImportIsIdempotentByTheFilesIDs() async throws {
        let videos = MemoryVideoPools()
        let transfer = Self.transfer(videos)
        let first = try await transfer.importFile(video: video, format: .bilibiliXML, file: Array(Self.file.utf8), token: "mod").get()
        #expect(first.read == 4)
        #expect(first.added == 4)
        #expect(first.skipped == [FileFormatError(line: 8, reason: "mode 7 (positioned, scripted or BAS) is not shown by this service")])
        let again = try await transfer.importFile(video: video, format: .bilibiliXML, file: Array(Self.file.utf8), token: "mod").get()
        #expect(again.added == 0, "the same file twice adds nothing the second time")
        let pool = try await videos.allComments(video: video, limit: 100)
        #expect(pool.map(\.id) == ["bili-1001", "bili-1002", "bili-1003", "bili-1004"])
        #expect(pool.map(\.offsetMs) == [1500, 2250, 3000, 4125])
        #expect(pool.map(\.mode) == [.scroll, .top, .bottom, .reverse])
        #expect(pool.map { $0.size ?? .normal } == [.normal, .large, .small, .normal])
        #expect(pool.map(\.color) == ["#ffffff", "#ff0000", "#0000ff", "#00ff00"])
        #expect(pool.map(\.user.id) == ["imported:9f3a1b2c", "imported:deadbeef", "imported:abc123", "imported:abc123"])
        #expect(pool.map(\.text) == ["第一条 & more", "字幕 subtitle", "bottom <3", "reverse ←"])
        #expect(pool[1].pool == true)
        #expect(try await videos.comments(video: video, segment: 0, limit: 10).count == 4, "segments serve what was imported")
    }

    /// XML → pool → XML: every comment's fields come back as the file had them.
    @Test func aRoundTripKeepsEveryField() async throws {
        let transfer = Self.transfer()
        _ = try await transfer.importFile(video: video, format: .bilibiliXML, file: Array(Self.file.utf8), token: "mod").get()
        let exported = try await transfer.export(video: video, format: .bilibiliXML, token: "mod").get()
        #expect(exported.comments == 4)
        let original = try BilibiliXMLReader().read(Array(Self.file.utf8)).get().danmaku
        let back = try BilibiliXMLReader().read(Array(exported.body.readableBytesView)).get().danmaku
        #expect(back.map { BilibiliDanmaku(offsetMs: $0.offsetMs, mode: $0.mode, size: $0.size, color: $0.color, postedAt: $0.postedAt, pool: $0.pool, userHash: $0.userHash, id: $0.id, text: $0.text) }
            == original.map { BilibiliDanmaku(offsetMs: $0.offsetMs, mode: $0.mode, size: $0.size, color: $0.color, postedAt: $0.postedAt, pool: $0.pool, userHash: $0.userHash, id: $0.id, text: $0.text) })
        let json = try await transfer.export(video: video, format: .json, token: "mod").get()
        let comments = try WireCodec.decoder.decode([VideoComment].self, from: Data(json.body.readableBytesView))
        #expect(comments.map(\.id) == ["bili-1001", "bili-1002", "bili-1003", "bili-1004"])
        let ass = try await transfer.export(video: video, format: .ass, layout: ASSLayout(width: 1280, height: 720, scrollSeconds: 6), token: "mod").get()
        let text = String(buffer: ass.body)
        #expect(text.contains("PlayResX: 1280"))
        #expect(text.split(separator: "\n").filter { $0.hasPrefix("Dialogue:") }.count == 4)
    }

    @Test func aMalformedFileImportsNothing() async throws {
        let videos = MemoryVideoPools()
        let transfer = Self.transfer(videos)
        let broken = Self.file.replacingOccurrences(of: "1712345680,0,abc123,1003", with: "1712345680,0,abc123,10 03")
        let refusal = await transfer.importFile(video: video, format: .bilibiliXML, file: Array(broken.utf8), token: "mod")
        #expect(refusal.failure?.code == "invalid_file")
        #expect(refusal.failure?.message == "line 6: id '10 03' is not 1-59 letters, digits and '-'")
        #expect(try await videos.allComments(video: video, limit: 10).isEmpty, "nothing of it, not even the lines before")
        let empty = Self.file.replacingOccurrences(of: "字幕 subtitle", with: "  ")
        #expect(await transfer.importFile(video: video, format: .bilibiliXML, file: Array(empty.utf8), token: "mod").failure?.message
            == "line 5: text must not be empty")
    }

    @Test func aFileOverItsBoundIsRefused() async throws {
        var limits = VideoPoolTransfer.Limits()
        limits.maxFileBytes = 200
        let transfer = VideoPoolTransfer(videos: MemoryVideoPools(), authenticator: Staff(), configuration: LogicConfiguration(), limits: limits)
        let refusal = await transfer.importFile(video: video, format: .bilibiliXML, file: Array(Self.file.utf8), token: "mod").failure
        #expect(refusal?.code == "file_too_large")
        #expect(refusal?.status == 413)
    }

    @Test func thePoolsAllowanceBoundsAnImport() async throws {
        let transfer = Self.transfer { $0.maxVideoComments = 3 }
        let refusal = await transfer.importFile(video: video, format: .bilibiliXML, file: Array(Self.file.utf8), token: "mod").failure
        #expect(refusal?.code == "video_full")
    }

    @Test func onlyStaffImportAndExport() async throws {
        let transfer = Self.transfer()
        #expect(await transfer.importFile(video: video, format: .bilibiliXML, file: Array(Self.file.utf8), token: "viewer").failure?.code == "forbidden")
        #expect(await transfer.importFile(video: video, format: .bilibiliXML, file: Array(Self.file.utf8), token: nil).failure?.code == "missing_token")
        #expect(await transfer.export(video: video, format: .json, token: "viewer").failure?.code == "forbidden")
        #expect(await transfer.importFile(video: video, format: .ass, file: Array(Self.file.utf8), token: "mod").failure?.code == "invalid_format")
    }
}

extension Result {
    var failure: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
