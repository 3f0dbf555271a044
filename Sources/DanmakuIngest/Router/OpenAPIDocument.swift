// Danmaku — a live-stream bullet-comment service.

import DanmakuCore
import Foundation
import NIOCore

/// The OpenAPI 3.1 document of the HTTP API, generated from the router's declarations: every path,
/// method, parameter with its type and range, body schema, answer per status, error codes and the
/// bearer-token scheme. Served at `GET /openapi.json` and committed as `docs/openapi.json`.
public enum OpenAPIDocument {
    /// The document as JSON: keys sorted, so that it is the same bytes on every build.
    public static func json(for router: APIRouter = .standard) -> Data {
        // Every value is a string, number, bool, array or dictionary: serialization cannot fail.
        (try? JSONSerialization.data(withJSONObject: document(for: router), options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]))
            .map { $0 + Data("\n".utf8) } ?? Data("{}".utf8)
    }

    /// The document served, made once.
    static let served = ByteBuffer(data: json())

    static func document(for router: APIRouter) -> [String: Any] {
        var paths: [String: Any] = [:]
        for (pattern, endpoints) in router.paths {
            var item: [String: Any] = [:]
            if !pattern.parameters.isEmpty { item["parameters"] = pattern.parameters.map(pathParameter) }
            for endpoint in endpoints { item[endpoint.method.rawValue.lowercased()] = operation(endpoint) }
            paths[pattern.description] = item
        }
        return [
            "openapi": "3.1.0",
            "info": [
                "title": "Danmaku",
                "version": "1",
                "description": "The HTTP API of a Danmaku node. The messages of the WebSocket (`GET /v1/rooms/{room}/ws`) and of event streams "
                    + "(`GET /v1/rooms/{room}/events`) are described in docs/PROTOCOL.md, as are the error codes.",
            ],
            "externalDocs": ["description": "The protocol: WebSocket and event-stream messages, error codes", "url": "docs/PROTOCOL.md"],
            "paths": paths,
            "components": [
                "schemas": Dictionary((APISchemas.all.map { ($0.name, $0.schema.json) }), uniquingKeysWith: { first, _ in first }),
                "securitySchemes": ["bearer": ["type": "http", "scheme": "bearer", "bearerFormat": "JWT"]],
            ] as [String: Any],
        ]
    }

    static func pathParameter(_ parameter: PathParameter) -> [String: Any] {
        let schema: JSONSchema
        let description: String
        switch parameter {
        case .room:
            schema = FieldSchemas.roomID
            description = "A room id: 1–64 of A–Z, a–z, 0–9, _ and - (else 400 invalid_room)."
        case .video:
            schema = FieldSchemas.videoID
            description = "A video id, written as a room id is (else 400 invalid_video)."
        case .id:
            schema = .string(minLength: 1)
            description = "A comment's id."
        case .user:
            schema = .string(minLength: 1)
            description = "A user id."
        case .segment:
            schema = .integer(minimum: Int64(clamping: VideoSegment.numbers.lowerBound), maximum: Int64(clamping: VideoSegment.numbers.upperBound))
            description = "The segment's number: six minutes each, from 0 (else 400 invalid_segment)."
        }
        return ["name": parameter.rawValue, "in": "path", "required": true, "schema": schema.json, "description": description]
    }

    static func operation(_ endpoint: APIEndpoint) -> [String: Any] {
        var operation: [String: Any] = [
            "operationId": operationID(endpoint),
            "summary": endpoint.summary,
            "description": "Served by \(served(endpoint.role)). Caller: \(caller(endpoint.principal)).",
        ]
        let parameters = endpoint.query.map { parameter($0, in: "query") } + endpoint.headers.map { parameter($0, in: "header") }
        if !parameters.isEmpty { operation["parameters"] = parameters }
        if let body = endpoint.body {
            operation["requestBody"] = ["required": body.required, "content": [body.mediaType: ["schema": body.schema.json]]]
        }
        var responses: [String: Any] = [:]
        for answer in endpoint.answers {
            var response: [String: Any] = ["description": answer.description, "headers": requestIDHeader]
            switch answer.content {
            case .json(let schema): response["content"] = ["application/json": ["schema": schema.json]]
            case .other(let mediaType): response["content"] = [mediaType: ["schema": ["type": "string"]]]
            case .files(let files):
                response["content"] = Dictionary(files.map { ($0.mediaType, ["schema": $0.schema.json]) }) { first, _ in first }
            case .eventStream:
                let event = JSONSchema.object([
                    ("event", .string()), ("data", .string()), ("id", .string()), ("retry", .integer(minimum: 0)),
                ])
                response["content"] = ["text/event-stream": ["schema": event.json]]
            case .none: break
            }
            if (200..<300).contains(answer.status), !endpoint.links.isEmpty {
                response["links"] = Dictionary(endpoint.links.map { link in
                    var object: [String: Any] = [
                        "operationId": operationID(method: link.method, path: link.path),
                        "parameters": Dictionary(link.parameters) { first, _ in first },
                    ]
                    if !link.body.isEmpty { object["requestBody"] = Dictionary(link.body) { first, _ in first } }
                    return (link.name, object)
                }) { first, _ in first }
            }
            responses[String(answer.status)] = response
        }
        for (status, codes) in errors(of: endpoint) {
            responses[String(status)] = [
                "description": "Refused: " + codes.map { "`\($0)`" }.joined(separator: ", ") + " (docs/PROTOCOL.md, Errors).",
                "headers": requestIDHeader,
                "content": ["application/json": ["schema": ["$ref": "#/components/schemas/Error"]]],
            ]
        }
        operation["responses"] = responses
        switch endpoint.principal {
        case .anyone: operation["security"] = [[String: Any]]()
        // In open mode anyone posts anonymously; with a JWT secret a token is needed.
        case .poster: operation["security"] = [[:], ["bearer": [String]()]]
        case .staffOfRoom, .moderator, .admin: operation["security"] = [["bearer": [String]()]]
        }
        return operation
    }

    /// Every error status the endpoint may answer, with its codes: its own and those of its kind.
    static func errors(of endpoint: APIEndpoint) -> [(Int, [String])] {
        var byStatus: [Int: [String]] = [:]
        func add(_ status: Int, _ codes: [String]) {
            for code in codes where !(byStatus[status] ?? []).contains(code) { byStatus[status, default: []].append(code) }
        }
        for error in endpoint.errors { add(error.status, error.codes) }
        if endpoint.path.parameters.contains(.room) { add(400, ["invalid_room"]) }
        if endpoint.path.parameters.contains(.video) { add(400, ["invalid_video"]) }
        if endpoint.role != .anyNode { add(404, ["role_not_served"]) }
        if endpoint.readsStore { add(429, ["rate_limited"]) }
        // A full node's connections kept for operators answer nothing else.
        if !endpoint.servesFullNodes { add(503, ["node_full"]) }
        // Any request: a body past the limit, headers past theirs, HTTP the parser refuses.
        add(400, ["malformed_request"])
        add(413, ["body_too_large"])
        add(431, ["headers_too_large"])
        return byStatus.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    static var requestIDHeader: [String: Any] { [
        "X-Request-Id": ["description": "The request's id: the client's own, or one the node made.", "schema": ["type": "string"]],
    ] }

    static func parameter(_ parameter: APIParameter, in place: String) -> [String: Any] {
        ["name": parameter.name, "in": place, "required": parameter.required, "schema": parameter.schema.json, "description": parameter.description]
    }

    static func operationID(_ endpoint: APIEndpoint) -> String {
        operationID(method: endpoint.method.rawValue, path: endpoint.path.description)
    }

    static func operationID(method: String, path: String) -> String {
        let words = path.split(whereSeparator: { !$0.isLetter && !$0.isNumber }).map { $0.prefix(1).uppercased() + $0.dropFirst() }
        return method.lowercased() + (words.isEmpty ? "Root" : words.joined())
    }

    static func served(_ role: ServingRole) -> String {
        switch role {
        case .anyNode: "any node"
        case .ingest: "nodes with the ingest role (404 role_not_served elsewhere)"
        case .logic: "nodes with the logic role (404 role_not_served elsewhere)"
        case .push: "nodes with the push role (404 role_not_served elsewhere)"
        }
    }

    static func caller(_ principal: Principal) -> String {
        switch principal {
        case .anyone: "anyone"
        case .poster: "a viewer's token when the node has a JWT secret; in open mode anyone"
        case .staffOfRoom: "a streamer or moderator of the room, or an admin"
        case .moderator: "a moderator without a room scope, or an admin"
        case .admin: "an admin"
        }
    }
}
