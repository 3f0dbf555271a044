import DanmakuIngest
import Foundation
import NIOCore
import Testing

/// The pages and scripts are files in `Sources/DanmakuIngest/Web/` compiled into the binary: each
/// is served at its path, not empty, byte for byte as the file, and every file there is served
/// (one left out of the routes would be dead weight in the binary).
@Suite struct WebAssetsTests {
    /// Each path that serves a file, with the file and its type.
    static let served: [(path: String, file: String, type: String)] =
        [
            ("/", "viewer.html", "text/html; charset=utf-8"), ("/rooms/demo", "viewer.html", "text/html; charset=utf-8"),
            ("/videos/demo", "viewer.html", "text/html; charset=utf-8"), ("/admin", "admin.html", "text/html; charset=utf-8"),
        ] + PageScript.allCases.map { ("/\($0.rawValue)", $0.rawValue, "text/javascript; charset=utf-8") }

    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Sources/DanmakuIngest/Web")

    @Test func everyFileIsServedAsItIs() async throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.folder.path).filter { !$0.hasPrefix(".") }
        #expect(Set(files) == Set(Self.served.map(\.file)), "every file in Web/ is served, and every served file is there")
        let harness = ConnectionHarness()
        for (path, file, type) in Self.served {
            let channel = try await harness.connect()
            try await channel.writeInbound(ByteBuffer(string: "GET \(path) HTTP/1.1\r\nHost: x\r\n\r\n"))
            let answer = try #require(
                WireAnswer.all(in: try await ConnectionHarness.output(of: channel) { !WireAnswer.all(in: $0).isEmpty }).first, "\(path)")
            let expected = try [UInt8](Data(contentsOf: Self.folder.appendingPathComponent(file)))
            #expect(answer.status == 200 && answer.headers["content-type"] == type, "\(path)")
            #expect(!expected.isEmpty && answer.body == expected, "\(path) serves Web/\(file) as it is")
            _ = try? await channel.finish()
        }
    }
}
