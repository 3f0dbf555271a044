import DanmakuCore
import DanmakuIngest
import Foundation
import NIOCore
import NIOHTTP1
import Testing

/// The router is the one description of the HTTP API: every declared endpoint answers through the
/// connection pipeline, undeclared methods get 405 with `Allow`, unknown paths 404, and
/// docs/PROTOCOL.md names every endpoint.
@Suite struct RouterTests {
    /// A concrete path for a pattern.
    static func concrete(_ pattern: PathPattern) -> String {
        pattern.description.replacingOccurrences(of: "{room}", with: "r1").replacingOccurrences(of: "{user}", with: "u")
            .replacingOccurrences(of: "{id}", with: "c").replacingOccurrences(of: "{video}", with: "v1").replacingOccurrences(of: "{n}", with: "0")
    }

    /// The first answer to `request` on a fresh connection.
    static func answer(_ request: String, on harness: ConnectionHarness) async throws -> WireAnswer? {
        let channel = try await harness.connect()
        try await channel.writeInbound(ByteBuffer(string: request))
        let answer = WireAnswer.all(in: try await ConnectionHarness.output(of: channel) { !WireAnswer.all(in: $0).isEmpty }).first
        _ = try? await channel.finish()
        return answer
    }

    @Test func everyDeclaredEndpointIsRoutedAndAnswers() async throws {
        let harness = ConnectionHarness()
        for endpoint in APIRouter.standard.endpoints {
            let path = Self.concrete(endpoint.path)
            guard case .endpoint(let found, _) = APIRouter.standard.route(method: endpoint.method, path: Substring(path)) else {
                Issue.record("\(endpoint.method) \(endpoint.path) is not routed")
                continue
            }
            #expect(found.path == endpoint.path && found.method == endpoint.method)
            if case .webSocket = endpoint.action { continue }  // the upgrader's, tested with viewers
            if case .eventStream = endpoint.action { continue }  // a stream, tested in EventStreamOutletTests
            let body = endpoint.body == nil ? "" : "{}"
            let answer = try #require(try await Self.answer(
                "\(endpoint.method.rawValue) \(path) HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)",
                on: harness), "\(endpoint.method) \(endpoint.path)")
            // Answered by its handler: whatever it says, not the router's refusals (a handler's own
            // 404, for a comment that does not exist, is one it declares).
            let refusal = (try? JSONSerialization.jsonObject(with: Data(answer.body)) as? [String: Any])?["error"] as? [String: Any]
            let code = refusal?["code"] as? String
            #expect(code != "method_not_allowed", "\(endpoint.method) \(endpoint.path)")
            if code == "not_found" {
                #expect(endpoint.errors.contains { $0.status == 404 && $0.codes.contains("not_found") }, "\(endpoint.method) \(endpoint.path) answered 404")
            }
        }
    }

    @Test func anUndeclaredMethodIs405WithTheMethodsThePathHas() async throws {
        let harness = ConnectionHarness()
        let answer = try #require(try await Self.answer("DELETE /v1/rooms/r1/settings HTTP/1.1\r\nHost: x\r\n\r\n", on: harness))
        #expect(answer.status == 405)
        #expect(answer.headers["allow"] == "GET, PUT, PATCH")
        guard case .refused(let error, let allowed) = APIRouter.standard.route(method: .POST, path: "/healthz") else {
            Issue.record("POST /healthz routed")
            return
        }
        #expect(error.code == "method_not_allowed" && allowed == [.GET])
    }

    @Test func unknownPathsAre404AndMalformedIdsTheirOwnError() {
        for path in ["/nothing", "/v1/rooms/r1/unknown", "/v1/rooms/", "", "*", "/v1/rooms/r1/comments/c/likes/more"] {
            guard case .refused(let error, _) = APIRouter.standard.route(method: .GET, path: Substring(path)) else {
                Issue.record("\(path) routed")
                continue
            }
            #expect(error.code == "not_found", "\(path)")
        }
        for (path, code) in [("/v1/rooms/bad%20room/comments", "invalid_room"), ("/rooms/a$b", "invalid_room"), ("/v1/videos/x%00/comments", "invalid_video")] {
            guard case .refused(let error, _) = APIRouter.standard.route(method: .GET, path: Substring(path)) else {
                Issue.record("\(path) routed")
                continue
            }
            #expect(error.code == code, "\(path)")
        }
        if case .endpoint(_, let values) = APIRouter.standard.route(method: .DELETE, path: "/v1/rooms/r1/bans/a%20b") {
            #expect(values.room == RoomID("r1") && values.user == "a b", "ids are percent-decoded")
        } else {
            Issue.record("DELETE a ban not routed")
        }
    }

    @Test func rolesAndReadsAreWhereTheyShouldBe() {
        func endpoint(_ method: HTTPMethod, _ path: String) -> APIEndpoint? {
            APIRouter.standard.endpoints.first { $0.method == method && $0.path.description == path }
        }
        #expect(endpoint(.POST, "/v1/rooms/{room}/comments")?.role == .ingest)
        #expect(endpoint(.GET, "/v1/rooms/{room}/comments")?.readsStore == true)
        #expect(endpoint(.PUT, "/v1/rooms/{room}/settings")?.role == .logic)
        #expect(endpoint(.PATCH, "/v1/rooms/{room}/settings")?.role == .logic)
        #expect(endpoint(.GET, "/v1/rooms/{room}/ws")?.role == .push)
        #expect(APIRouter.standard.webSocketRoom(method: .GET, path: "/v1/rooms/r1/ws") == RoomID("r1"))
        #expect(APIRouter.standard.webSocketRoom(method: .GET, path: "/v1/rooms/r1/events") == nil)
    }

    @Test func theProtocolDocumentNamesEveryEndpoint() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let protocolText = try String(contentsOf: root.appendingPathComponent("docs/PROTOCOL.md"), encoding: .utf8)
        for endpoint in APIRouter.standard.endpoints {
            let path = endpoint.path.description
            #expect(protocolText.contains("\(endpoint.method.rawValue) \(path)"), "docs/PROTOCOL.md does not name \(endpoint.method.rawValue) \(path)")
        }
    }
}
