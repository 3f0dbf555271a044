// Danmaku — a live-stream bullet-comment service.

import DanmakuCore
import NIOCore
import NIOHTTP1

extension DanmakuError {
    private struct Body: Encodable {
        struct Detail: Encodable {
            var code: String
            var message: String
            var requestId: String?
        }
        var error: Detail
    }

    /// `{"error": {"code": "...", "message": "..."}}`, the body of every HTTP error answer.
    var httpBody: ByteBuffer { httpBody(requestID: nil) }

    /// The error body with the request's id (`"requestId"`), which its log lines carry too.
    func httpBody(requestID: String?) -> ByteBuffer {
        // This shape always encodes; an empty object is a safe fallback that never traps.
        (try? WireCodec.encode(Body(error: .init(code: code, message: message, requestId: requestID)))) ?? ByteBuffer(string: "{}")
    }

    /// The headers this error's answer carries besides the body's: `Retry-After` when there is a
    /// wait, `WWW-Authenticate` on a 401 (RFC 6750 §3), `Sec-WebSocket-Version` when the version
    /// was wrong (RFC 6455 §4.4).
    var httpHeaders: HTTPHeaders {
        var headers = HTTPHeaders()
        if let seconds = retryAfterSeconds { headers.add(name: "Retry-After", value: String(seconds)) }
        if status == 401 { headers.add(name: "WWW-Authenticate", value: "Bearer realm=\"danmaku\"") }
        if code == DanmakuError.unsupportedWebSocketVersion.code { headers.add(name: "Sec-WebSocket-Version", value: "13") }
        return headers
    }

    /// The whole answer, for handlers that write it themselves.
    func httpResponse(keepAlive: Bool) -> (head: HTTPResponseHead, body: ByteBuffer) {
        let body = httpBody
        var headers = httpHeaders
        headers.add(name: "Content-Type", value: "application/json; charset=utf-8")
        headers.add(name: "Content-Length", value: String(body.readableBytes))
        headers.add(name: "Connection", value: keepAlive ? "keep-alive" : "close")
        return (HTTPResponseHead(version: .http1_1, status: HTTPResponseStatus(statusCode: status), headers: headers), body)
    }
}
