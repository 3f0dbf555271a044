import DanmakuAuth
import DanmakuTestSupport
import Foundation
import Testing

/// `danmaku pool import|export` against a real `danmaku` process, as a video's staff run it.
@Suite struct PoolCommandTests {
    func pool(_ arguments: [String], port: Int, token: String) async throws -> (status: Int32, output: String) {
        try await ChildProcess.run(
            DanmakuNode.executable, ["pool"] + arguments + ["--url", "http://127.0.0.1:\(port)", "--token", token], timeout: .seconds(30))
    }

    @Test func importsAFileAndExportsItInEachFormat() async throws {
        let node = try await DanmakuNode.start([], environment: ["DANMAKU_JWT_SECRET": ModerationTests.secret])
        defer { Task { await node.stop() } }
        let token = String(try await ModerationTests().bearer("star", .streamer, rooms: ["film"]).dropFirst("Bearer ".count))
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("danmaku-pool-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("film.xml")
        try PoolFilesTests.file.write(to: file, atomically: true, encoding: .utf8)

        let imported = try await pool(["import", "--video", "film", "--format", "bilibili-xml", file.path], port: node.port, token: token)
        #expect(imported.status == 0 && imported.output.contains("read 150, added 150, skipped 0"), "\(imported.output)")
        let again = try await pool(["import", "--video", "film", file.path], port: node.port, token: token)
        #expect(again.status == 0 && again.output.contains("added 0"), "\(again.output)")

        let ass = directory.appendingPathComponent("film.ass")
        let exported = try await pool(
            ["export", "--video", "film", "--format", "ass", "--width", "1280", "--height", "720", "--duration", "6", "--out", ass.path],
            port: node.port, token: token)
        #expect(exported.status == 0, "\(exported.output)")
        let assText = try String(contentsOf: ass, encoding: .utf8)
        #expect(assText.contains("PlayResX: 1280\nPlayResY: 720") && assText.contains("Dialogue: "))

        let xml = try await pool(["export", "--video", "film", "--format", "bilibili-xml"], port: node.port, token: token)
        #expect(xml.status == 0 && xml.output.contains(#"<d p="3.250,6,25,16711680,1712345678,0,ab3,9003">弾幕 3 &amp; &lt;ok&gt;</d>"#), "to standard output")

        let broken = directory.appendingPathComponent("broken.xml")
        try "<i>\n<d p=\"1,1,25,red,0,0,ab,1\">x</d>\n</i>".write(to: broken, atomically: true, encoding: .utf8)
        let refused = try await pool(["import", "--video", "film", broken.path], port: node.port, token: token)
        #expect(refused.status != 0 && refused.output.contains("400 invalid_file: line 2: color 'red'"), "\(refused.output)")
        let viewer = String(try await ModerationTests().bearer("fan", .viewer).dropFirst("Bearer ".count))
        let forbidden = try await pool(["export", "--video", "film", "--format", "json"], port: node.port, token: viewer)
        #expect(forbidden.status != 0 && forbidden.output.contains("403 forbidden"), "\(forbidden.output)")
    }
}
