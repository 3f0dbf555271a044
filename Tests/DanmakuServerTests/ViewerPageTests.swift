import DanmakuTestSupport
import Testing

/// The viewer page's routes and headers (its behaviour in a browser: Tests/e2e/browser_check.py).
@Suite struct ViewerPageTests {
    @Test func servesThePageAtTheRootAndPerRoom() async throws {
        try await withServer { _, port in
            for path in ["/", "/rooms/demo", "/?room=demo", "/videos/demo"] {
                let reply = try await httpRequest(port: port, method: "GET", path: path)
                #expect(reply.status == 200, "\(path)")
                #expect(reply.headers["content-type"] == "text/html; charset=utf-8")
                #expect(reply.headers["content-security-policy"]?.contains("connect-src 'self'") == true)
                #expect(reply.headers["x-content-type-options"] == "nosniff")
                let html = String(decoding: reply.body, as: UTF8.self)
                #expect(html.hasPrefix("<!doctype html>") && html.contains(#"import { DanmakuConnection, DanmakuVideo } from "/client.js""#))
                // Nothing loaded from elsewhere: its one module comes from this origin.
                #expect(!html.contains("http://") && !html.contains("https://") && !html.contains("<script src"))
            }
            let client = try await httpRequest(port: port, method: "GET", path: "/client.js")
            #expect(client.status == 200 && client.headers["content-type"] == "text/javascript; charset=utf-8")
            #expect(client.headers["x-content-type-options"] == "nosniff")
            let script = String(decoding: client.body, as: UTF8.self)
            #expect(script.contains("export class DanmakuConnection") && script.contains("new WebSocket("))
            for (path, export) in [("/screen.js", "export class DanmakuScreen"), ("/playback.js", "export class VideoPlayback")] {
                let module = try await httpRequest(port: port, method: "GET", path: path)
                #expect(module.status == 200 && module.headers["content-type"] == "text/javascript; charset=utf-8", "\(path)")
                #expect(String(decoding: module.body, as: UTF8.self).contains(export), "\(path)")
            }
            #expect(try await httpRequest(port: port, method: "GET", path: "/rooms/bad!room").errorCode == "invalid_room")
            #expect(try await httpRequest(port: port, method: "GET", path: "/videos/bad!video").errorCode == "invalid_video")
            #expect(try await httpRequest(port: port, method: "POST", path: "/").status == 405)
            let ready = try await httpRequest(port: port, method: "GET", path: "/readyz")
            #expect(ready.status == 200 && ready.json["status"] as? String == "ready")
        }
    }
}
