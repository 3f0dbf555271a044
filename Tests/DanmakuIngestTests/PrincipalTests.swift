import DanmakuAuth
import DanmakuIngest
import Foundation
import NIOCore
import Testing

/// The caller an endpoint declares is checked before its handler runs: no endpoint declared for
/// staff answers a viewer, one without a token, or (for an admin's) a moderator.
@Suite struct PrincipalTests {
    static let secret = "principal-test-secret-of-32-bytes-or-more"

    static func token(_ role: PosterRole, rooms: [String]? = nil) async throws -> String {
        try await TokenIssuer.sign(DanmakuClaims(user: "u-\(role)", name: "U", role: role, expires: Date().addingTimeInterval(600), rooms: rooms), secret: secret)
    }

    /// The error code of `method path` with `token` (nil: none).
    static func code(_ endpoint: APIEndpoint, token: String?, on harness: ConnectionHarness) async throws -> String? {
        let authorization = token.map { "Authorization: Bearer \($0)\r\n" } ?? ""
        let body = endpoint.body == nil ? "" : "{}"
        let answer = try #require(try await RouterTests.answer(
            "\(endpoint.method.rawValue) \(RouterTests.concrete(endpoint.path)) HTTP/1.1\r\nHost: x\r\n\(authorization)Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)",
            on: harness))
        return ((try? JSONSerialization.jsonObject(with: Data(answer.body)) as? [String: Any])?["error"] as? [String: Any])?["code"] as? String
    }

    @Test func staffEndpointsRefuseEveryoneElseBeforeTheirHandler() async throws {
        let harness = ConnectionHarness(authenticator: TokenAuthenticator(secret: Self.secret))
        let viewer = try await Self.token(.viewer)
        let streamerElsewhere = try await Self.token(.streamer, rooms: ["elsewhere"])
        let moderator = try await Self.token(.moderator)
        let staffOnly = APIRouter.standard.endpoints.filter { [.staffOfRoom, .moderator, .admin].contains($0.principal) }
        #expect(staffOnly.count >= 10)
        for endpoint in staffOnly {
            let name = "\(endpoint.method) \(endpoint.path)"
            #expect(try await Self.code(endpoint, token: nil, on: harness) == "missing_token", "\(name) without a token")
            #expect(try await Self.code(endpoint, token: viewer, on: harness) == "forbidden", "\(name) as a viewer")
            if endpoint.principal == .staffOfRoom {
                #expect(try await Self.code(endpoint, token: streamerElsewhere, on: harness) == "forbidden", "\(name) as another room's streamer")
            }
            if endpoint.principal == .admin {
                #expect(try await Self.code(endpoint, token: moderator, on: harness) == "forbidden", "\(name) as a moderator")
            }
        }
    }

    @Test func inOpenModeNobodyIsStaff() async throws {
        let harness = ConnectionHarness()
        for endpoint in APIRouter.standard.endpoints where [.staffOfRoom, .moderator, .admin].contains(endpoint.principal) {
            #expect(try await Self.code(endpoint, token: nil, on: harness) == "moderation_needs_tokens", "\(endpoint.method) \(endpoint.path)")
        }
    }
}
