import Foundation

/// A parsed HTTP/1.1 response.
public struct HTTPReply: Sendable, CustomStringConvertible {
    public var status: Int
    public var headers: [String: String]
    public var body: [UInt8]

    /// The body as a JSON object (empty when it is not one).
    public var json: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] ?? [:]
    }

    /// `error.code` of an error body.
    public var errorCode: String? { (json["error"] as? [String: Any])?["code"] as? String }

    public var description: String { "\(status) \(String(decoding: body, as: UTF8.self))" }

    /// Parses the first response in `bytes`; nil while incomplete.
    public static func parse(_ bytes: [UInt8]) -> (reply: HTTPReply, length: Int)? {
        let separator: [UInt8] = Array("\r\n\r\n".utf8)
        guard let headEnd = bytes.firstRange(of: separator) else { return nil }
        let head = String(decoding: bytes[..<headEnd.lowerBound], as: UTF8.self)
        var lines = head.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst().split(separator: " ")
        guard statusLine.count >= 2, let status = Int(statusLine[1]) else { return nil }
        var headers: [String: String] = [:]
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let length = Int(headers["content-length"] ?? "0") ?? 0
        let bodyStart = headEnd.upperBound
        guard bytes.count >= bodyStart + length else { return nil }
        return (HTTPReply(status: status, headers: headers, body: Array(bytes[bodyStart..<(bodyStart + length)])), bodyStart + length)
    }
}

/// One request on a fresh connection (`Connection: close`), answered in full.
public func httpRequest(
    port: Int, method: String, path: String, headers: [String: String] = [:], body: [UInt8] = []
) async throws -> HTTPReply {
    let connection = try await TestConnection.connect(port: port)
    defer { Task { await connection.close() } }
    var request = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
    for (name, value) in headers { request += "\(name): \(value)\r\n" }
    if !body.isEmpty || method == "POST" { request += "Content-Length: \(body.count)\r\n" }
    request += "\r\n"
    try await connection.send(Array(request.utf8) + body)
    try await connection.input.wait(for: "\(method) \(path) answered") { HTTPReply.parse($0.bytes) != nil || $0.closed }
    guard let (reply, _) = HTTPReply.parse(connection.input.value.bytes) else {
        throw TimedOut(description: "connection closed without a complete response to \(method) \(path)")
    }
    return reply
}

/// POSTs a JSON body to a room's comments.
public func postComment(port: Int, room: String, json: String, contentType: String = "application/json") async throws -> HTTPReply {
    try await httpRequest(
        port: port, method: "POST", path: "/v1/rooms/\(room)/comments",
        headers: ["Content-Type": contentType], body: Array(json.utf8))
}

/// A JSON request with an optional `Authorization` header (e.g. `Bearer TOKEN`).
public func jsonRequest(port: Int, _ method: String, _ path: String, authorization: String?, _ json: String = "") async throws -> HTTPReply {
    var headers = ["Content-Type": "application/json"]
    if let authorization { headers["Authorization"] = authorization }
    return try await httpRequest(port: port, method: method, path: path, headers: headers, body: Array(json.utf8))
}

/// JSON-quotes `text` for a request body.
public func jsonQuoted(_ text: String) -> String {
    String(decoding: try! JSONEncoder().encode(text), as: UTF8.self)
}
