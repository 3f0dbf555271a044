import DanmakuAuth
import DanmakuTestSupport
import Foundation
import Testing

/// A video pool's files over real sockets, on the memory store: a moderator imports a Bilibili
/// file (larger than a post's body bound), viewers see it in segments, and it comes back out as
/// Bilibili XML, ASS and JSON.
@Suite struct PoolFilesTests {
    let tokens = ModerationTests()

    /// 150 comments: over the 4 KiB a post's body may have, far under a file's bound.
    static let file: String = {
        var text = #"<?xml version="1.0" encoding="UTF-8"?>"# + "\n<i>\n  <chatid>42</chatid>\n"
        for index in 0..<150 {
            let mode = [1, 4, 5, 6][index % 4]
            text += #"  <d p="\#(index).250,\#(mode),25,16711680,1712345678,0,ab\#(index % 7),\#(9000 + index)">弾幕 \#(index) &amp; &lt;ok&gt;</d>"# + "\n"
        }
        return text + "</i>\n"
    }()

    func send(_ port: Int, _ path: String, as token: String?, _ body: String, type: String = "application/xml") async throws -> HTTPReply {
        var headers = ["Content-Type": type]
        if let token { headers["Authorization"] = token }
        return try await httpRequest(port: port, method: "POST", path: path, headers: headers, body: Array(body.utf8))
    }

    func get(_ port: Int, _ path: String, as token: String?) async throws -> HTTPReply {
        try await httpRequest(port: port, method: "GET", path: path, headers: token.map { ["Authorization": $0] } ?? [:])
    }

    @Test func aModeratorImportsAFileAndExportsThePoolInEachFormat() async throws {
        try await withServer({ $0.jwtSecret = ModerationTests.secret }) { _, port in
            #expect(Self.file.utf8.count > 4096)
            let star = try await tokens.bearer("star", .streamer, rooms: ["anime"])
            let fan = try await tokens.bearer("fan", .viewer)
            let path = "/v1/videos/anime/import?format=bilibili-xml"
            #expect(try await send(port, path, as: fan, Self.file).errorCode == "forbidden")
            #expect(try await send(port, path, as: nil, Self.file).errorCode == "missing_token")

            let imported = try await send(port, path, as: star, Self.file)
            #expect(imported.status == 200, "\(imported)")
            #expect(imported.json["read"] as? Int == 150 && imported.json["added"] as? Int == 150 && imported.json["video"] as? String == "anime")
            let again = try await send(port, path, as: star, Self.file)
            #expect(again.status == 200 && again.json["added"] as? Int == 0, "importing the same file again adds nothing: \(again)")

            let segment = try await httpRequest(port: port, method: "GET", path: "/v1/videos/anime/segments/0")
            let comments = try #require(segment.json["comments"] as? [[String: Any]])
            #expect(comments.count == 150)
            #expect(comments.first?["text"] as? String == "弾幕 0 & <ok>" && comments.first?["offsetMs"] as? Int == 250)
            #expect((comments.first?["user"] as? [String: Any])?["id"] as? String == "imported:ab0")

            #expect(try await get(port, "/v1/videos/anime/export?format=ass", as: fan).errorCode == "forbidden")
            let xml = try await get(port, "/v1/videos/anime/export?format=bilibili-xml", as: star)
            #expect(xml.status == 200 && xml.headers["content-type"]?.hasPrefix("application/xml") == true, "\(xml.headers)")
            #expect(xml.headers["content-disposition"] == #"attachment; filename="anime.xml""#)
            #expect(xml.headers["x-danmaku-comments"] == "150")
            let body = String(decoding: xml.body, as: UTF8.self)
            #expect(body.contains(#"<d p="3.250,6,25,16711680,1712345678,0,ab3,9003">弾幕 3 &amp; &lt;ok&gt;</d>"#), "the file's fields, back as they were")

            let ass = try await get(port, "/v1/videos/anime/export?format=ass&width=1280&height=720&duration=6", as: star)
            #expect(ass.status == 200 && ass.headers["content-type"]?.hasPrefix("text/x-ssa") == true)
            let assText = String(decoding: ass.body, as: UTF8.self)
            #expect(assText.contains("PlayResX: 1280\nPlayResY: 720"))
            let events = assText.split(separator: "\n").filter { $0.hasPrefix("Dialogue:") }.count
            #expect(ass.headers["x-danmaku-omitted"].flatMap { Int($0) }.map { $0 + events } == 150)

            let json = try await get(port, "/v1/videos/anime/export?format=json", as: star)
            let array = try #require(try JSONSerialization.jsonObject(with: Data(json.body)) as? [[String: Any]])
            #expect(array.count == 150 && array.first?["id"] as? String == "bili-9000" && array.first?["video"] as? String == "anime")
        }
    }

    @Test func aBadFileOrRequestIsRefusedWithACode() async throws {
        try await withServer({ $0.jwtSecret = ModerationTests.secret; $0.ingest.maxFileBodyBytes = 8192 }) { _, port in
            let star = try await tokens.bearer("star", .streamer, rooms: ["anime"])
            let path = "/v1/videos/anime/import"
            let broken = "<i>\n<d p=\"1,1,25,0,0,0,ab,1\">fine</d>\n<d p=\"2,1,25,0,0,0,ab,2\">broken</b>\n</i>"
            let refused = try await send(port, path, as: star, broken)
            #expect(refused.status == 400 && refused.errorCode == "invalid_file", "\(refused)")
            #expect((refused.json["error"] as? [String: Any])?["message"] as? String == "line 3: the file is not well-formed XML (an end tag does not match its start tag)")
            let kept = try await httpRequest(port: port, method: "GET", path: "/v1/videos/anime/segments/0").json["comments"] as? [[String: Any]]
            #expect(kept?.isEmpty ?? true, "nothing of a refused file is kept")
            let huge = try await send(port, path, as: star, Self.file)
            #expect(huge.status == 413 && huge.errorCode == "body_too_large", "past the file bound: \(huge)")
            #expect(try await send(port, path, as: star, broken, type: "application/json").errorCode == "unsupported_media_type")
            #expect(try await send(port, path + "?format=ass", as: star, broken).errorCode == "invalid_format")
            #expect(try await get(port, "/v1/videos/anime/export", as: star).errorCode == "invalid_format")
            #expect(try await get(port, "/v1/videos/anime/export?format=srt", as: star).errorCode == "invalid_format")
            #expect(try await get(port, "/v1/videos/anime/export?format=ass&width=0", as: star).errorCode == "invalid_width")
            #expect(try await get(port, "/v1/videos/anime/export?format=ass&duration=999", as: star).errorCode == "invalid_duration")
        }
    }
}
