// Danmaku — a live-stream bullet-comment service.

import NIOCore
import NIOHTTP1

/// The endpoints that serve the web pages: the viewer page, the operators' dashboard and their
/// JavaScript modules.
enum PageRoutes {
    /// Every page and module, in declaration order.
    static let all: [APIEndpoint] = [
        page("/", "The viewer page (room `lobby`, or `?room=`).", WebAssets.viewerPage, query: [APIParameter("room", .string(), "The room to open.")]),
        page("/rooms/{room}", "The viewer page of a room.", WebAssets.viewerPage),
        page("/videos/{video}", "The viewer page playing a video's pool.", WebAssets.viewerPage),
        page("/admin", "The operators' dashboard.", WebAssets.adminPage),
    ] + PageScript.allCases.map { script in
        APIEndpoint(
            .GET, "/\(script.rawValue)", summary: "A JavaScript module of the pages.", answers: [.other(200, "The module.", mediaType: "text/javascript")],
            action: .onLoop { request in
                var headers = HTTPHeaders()
                headers.add(name: "X-Content-Type-Options", value: "nosniff")
                headers.add(name: "Cache-Control", value: "no-cache")
                return request.eventLoop.makeSucceededFuture(.success(APIResponse(
                    body: script.body, contentType: "text/javascript; charset=utf-8", headers: headers)))
            })
    }

    /// A page of the web client, served with the security headers every page carries.
    static func page(_ path: String, _ summary: String, _ body: ByteBuffer, query: [APIParameter] = []) -> APIEndpoint {
        APIEndpoint(
            .GET, path, summary: summary, query: query, answers: [.other(200, "The page.", mediaType: "text/html")],
            action: .onLoop { request in
                var headers = HTTPHeaders()
                for (name, value) in WebAssets.securityHeaders { headers.add(name: name, value: value) }
                return request.eventLoop.makeSucceededFuture(.success(APIResponse(body: body, contentType: "text/html; charset=utf-8", headers: headers)))
            })
    }
}
