import DanmakuTestSupport
import Testing

/// The viewer page's routes and headers (its behaviour in a browser: Tests/e2e/browser_check.py).
@Suite struct ViewerPageTests {
    @Test func servesThePageAtTheRootAndPerRoom() async throws {
        try await withServer { _, port in
            for path in ["/", "/rooms/demo", "/?room=demo"] {
                let reply = try await httpRequest(port: port, method: "GET", path: path)
                #expect(reply.status == 200, "\(path)")
                #expect(reply.headers["content-type"] == "text/html; charset=utf-8")
                #expect(reply.headers["content-security-policy"]?.contains("connect-src 'self'") == true)
                #expect(reply.headers["x-content-type-options"] == "nosniff")
                let html = String(decoding: reply.body, as: UTF8.self)
                #expect(html.hasPrefix("<!doctype html>") && html.contains("new WebSocket("))
                // Self-contained: nothing loaded from elsewhere.
                #expect(!html.contains("http://") && !html.contains("https://") && !html.contains("<script src"))
            }
            #expect(try await httpRequest(port: port, method: "GET", path: "/rooms/bad!room").errorCode == "invalid_room")
            #expect(try await httpRequest(port: port, method: "POST", path: "/").status == 405)
            let ready = try await httpRequest(port: port, method: "GET", path: "/readyz")
            #expect(ready.status == 200 && ready.json["status"] as? String == "ready")
        }
    }
}
