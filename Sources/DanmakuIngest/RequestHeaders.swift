// Danmaku — a live-stream bullet-comment service.

import DanmakuCore
import DanmakuLogic
import Foundation
import NIOHTTP1

/// What the API reads from request headers: the bearer token, a post's idempotency key and the
/// WebSocket upgrade's.
public enum RequestHeaders {
    /// The token of `Authorization: Bearer TOKEN`; nil without the header, "" when it is present
    /// but not a bearer token (which the authenticator refuses).
    static func bearerToken(_ headers: HTTPHeaders) -> String? {
        guard let value = headers.first(name: "authorization") else { return nil }
        let parts = value.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return "" }
        return String(parts[1]).trimmingCharacters(in: .whitespaces)
    }

    /// The `Idempotency-Key` of a post (nil without one), or 400 `invalid_idempotency_key` when it
    /// is malformed or sent more than once.
    static func idempotencyKey(_ headers: HTTPHeaders) -> Result<IdempotencyKey?, DanmakuError> {
        let values = headers["idempotency-key"]
        guard values.count <= 1 else { return .failure(.invalidIdempotencyKey(maxBytes: IdempotencyKey.maxBytes)) }
        return IdempotencyKey.parse(values.first)
    }

    /// Whether a body may be read as JSON: its `Content-Type` is `application/json` or absent
    /// (anything else is `415 unsupported_media_type`).
    static func allowsJSONBody(_ headers: HTTPHeaders) -> Bool {
        headers.first(name: "content-type").map { $0.lowercased().hasPrefix("application/json") } ?? true
    }

    /// The longest `X-Request-Id` taken from a client.
    public static let maxRequestIDBytes = 128

    /// The request's id: its `X-Request-Id` when it gives one of at most `maxRequestIDBytes`
    /// visible ASCII characters (what a proxy or a client made, so one id follows the request
    /// through every hop), else a new one.
    static func requestID(_ headers: HTTPHeaders) -> String {
        if let given = headers.first(name: "x-request-id"), HeaderToken.isValid(given, maxBytes: maxRequestIDBytes) {
            return given
        }
        return RandomID.make()
    }

    /// Whether NIO's parser reads nothing after this request: it stops after any request that may
    /// switch protocols (an `Upgrade` header, or `CONNECT`) and from then on only keeps the bytes
    /// that come. Such a request is its connection's last, whatever it says of keep-alive.
    public static func endsParsing(_ head: HTTPRequestHead) -> Bool {
        head.method == .CONNECT || head.headers.contains(name: "upgrade")
    }

    /// Whether the connection goes on after this request's answer.
    static func keepsAlive(_ head: HTTPRequestHead) -> Bool {
        head.isKeepAlive && !endsParsing(head)
    }

    /// The most protocols an `Upgrade` header may name: NIO's upgrade handler tries each in turn,
    /// one stack frame deeper per name, and a head of thousands overflows the stack.
    public static let maxUpgradeProtocols = 8

    /// How many protocols the request's `Upgrade` headers name.
    public static func upgradeProtocolCount(_ headers: HTTPHeaders) -> Int {
        headers["upgrade"].reduce(0) { count, value in count + value.split(separator: ",").count }
    }

    /// Why a request to the socket path was not upgraded (RFC 6455 §4.2.1, §4.4).
    static func upgradeProblem(_ headers: HTTPHeaders) -> DanmakuError {
        guard headers["upgrade"].contains(where: { $0.lowercased() == "websocket" }) else { return .upgradeRequired }
        guard headers["sec-websocket-version"] == ["13"] else { return .unsupportedWebSocketVersion }
        return isValidWebSocketKey(headers) ? .upgradeRequired : .invalidWebSocketKey
    }

    /// One `Sec-WebSocket-Key` that is base64 of 16 bytes (RFC 6455 §4.2.1 item 5). NIO's upgrader
    /// only checks that there is one.
    public static func isValidWebSocketKey(_ headers: HTTPHeaders) -> Bool {
        let keys = headers["sec-websocket-key"]
        guard keys.count == 1, keys[0].utf8.count == 24, let decoded = Data(base64Encoded: keys[0]) else { return false }
        return decoded.count == 16
    }
}
