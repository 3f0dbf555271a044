// Danmaku — a live-stream bullet-comment service.

import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The HTTP side of the API as the client library uses it: JSON requests with the token, error
/// answers turned into `DanmakuClientError.refused`, and posts retried with one idempotency key.
struct DanmakuHTTP: Sendable {
    /// `http(s)://host:port`, without a path.
    let base: URL
    let token: String?
    let session: URLSession

    /// How many times a post is sent again, and how long after the call it may be.
    static let retries = 3
    static let retryWindow: Duration = .seconds(30)
    /// Answers after which a post is sent again with its key: nothing was stored, or the first
    /// try is still being processed and the retry gets its answer.
    static let retriedCodes: Set<String> = ["bus_unavailable", "idempotency_in_progress"]

    /// - Parameter server: `http(s)://…` or `ws(s)://…` (the same node's address as the socket's).
    init(server: String, token: String?, session: URLSession) throws {
        guard var parts = URLComponents(string: server), let scheme = parts.scheme?.lowercased(), parts.host?.isEmpty == false else {
            throw DanmakuClientError.invalidURL(server)
        }
        switch scheme {
        case "http", "ws": parts.scheme = "http"
        case "https", "wss": parts.scheme = "https"
        default: throw DanmakuClientError.invalidURL(server)
        }
        (parts.path, parts.query, parts.fragment) = ("", nil, nil)
        guard let base = parts.url else { throw DanmakuClientError.invalidURL(server) }
        (self.base, self.token, self.session) = (base, token, session)
    }

    /// A path's segment, escaped (ids are checked by the server; escaping keeps a hostile one a
    /// single segment).
    static func segment(_ value: String) -> String {
        value.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-_"))) ?? ""
    }

    func request(_ method: String, _ path: String, body: [String: Any]? = nil, headers: [String: String] = [:]) throws -> URLRequest {
        guard let url = URL(string: path, relativeTo: base) else { throw DanmakuClientError.invalidURL(path) }
        var request = URLRequest(url: url)
        request.httpMethod = method
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        if let body {
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            request.httpBody = try JSONSerialization.data(withJSONObject: body)
        }
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        return request
    }

    /// Sends `request`; the answer's status, headers and body. A 4xx or 5xx answer throws
    /// `.refused` with the server's code, unless `accepting` names its status.
    func send(_ request: URLRequest, accepting: Set<Int> = []) async throws -> (status: Int, headers: [AnyHashable: Any], body: Data) {
        let (data, response) = try await session.data(for: request)
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        let headers = (response as? HTTPURLResponse)?.allHeaderFields ?? [:]
        if status >= 400, !accepting.contains(status) {
            let retryAfter = (response as? HTTPURLResponse)?.value(forHTTPHeaderField: "Retry-After").flatMap { Int($0) }
            throw Self.refusal(status: status, body: data, retryAfter: retryAfter)
        }
        return (status, headers, data)
    }

    /// Sends a post with an idempotency key, again with the same key after a connection failure,
    /// `bus_unavailable` or `idempotency_in_progress` (at most `retries` times, within
    /// `retryWindow`): a retry of a post the server stored gets the first answer, never a second
    /// comment.
    func post(_ path: String, body: [String: Any]) async throws -> Data {
        let key = UUID().uuidString
        let deadline = ContinuousClock.now + Self.retryWindow
        var attempt = 0
        while true {
            attempt += 1
            do {
                return try await send(request("POST", path, body: body, headers: ["Idempotency-Key": key])).body
            } catch DanmakuClientError.refused(let code, let message, let retryAfter) where Self.retriedCodes.contains(code) {
                let wait = Duration.seconds(retryAfter ?? 1)
                guard attempt <= Self.retries, ContinuousClock.now + wait < deadline else {
                    throw DanmakuClientError.refused(code: code, message: message, retryAfter: retryAfter)
                }
                try await Task.sleep(for: wait)
            } catch let error as URLError {
                // The answer may have been lost after the post was stored: the key makes the
                // retry safe.
                guard attempt <= Self.retries, ContinuousClock.now < deadline else { throw error }
                try await Task.sleep(for: .milliseconds(200 * attempt))
            }
        }
    }

    /// The refusal an error answer stands for (`{"error":{"code","message"}}` and its
    /// `Retry-After`, seconds).
    static func refusal(status: Int, body: Data, retryAfter: Int?) -> DanmakuClientError {
        let error = (try? JSONSerialization.jsonObject(with: body) as? [String: Any])?["error"] as? [String: Any]
        return .refused(
            code: error?["code"] as? String ?? "http_\(status)", message: error?["message"] as? String ?? "HTTP \(status)",
            retryAfter: retryAfter.map { min(max($0, 0), 3600) })
    }

    static func decode<T: Decodable>(_ type: T.Type, _ data: Data) throws -> T {
        try JSONDecoder().decode(type, from: data)
    }
}
