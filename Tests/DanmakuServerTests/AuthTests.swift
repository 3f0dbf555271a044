import DanmakuAuth
import DanmakuCore
import DanmakuRedis
import DanmakuTestSupport
import Foundation
import Testing

/// Posting with tokens over real sockets: every way a token can be wrong has its own answer.
@Suite struct AuthTests {
    static let secret = "test-secret-of-at-least-32-bytes!"

    func token(
        user: String = "u1", name: String = "Ann", role: PosterRole = .viewer, expires: TimeInterval = 3600,
        rooms: [String]? = nil, secret: String = AuthTests.secret
    ) async throws -> String {
        try await TokenIssuer.sign(
            DanmakuClaims(user: user, name: name, role: role, expires: Date().addingTimeInterval(expires), rooms: rooms),
            secret: secret)
    }

    /// A token that says it needs no signature.
    func unsignedToken() -> String {
        func base64URL(_ text: String) -> String {
            Data(text.utf8).base64EncodedString().replacingOccurrences(of: "+", with: "-")
                .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        }
        let exp = Int(Date().timeIntervalSince1970) + 3600
        return base64URL(#"{"alg":"none","typ":"JWT"}"#) + "."
            + base64URL(#"{"sub":"mallory","name":"Admin","role":"admin","exp":\#(exp)}"#) + "."
    }

    func post(_ port: Int, room: String = "r", authorization: String?) async throws -> HTTPReply {
        try await jsonRequest(
            port: port, "POST", "/v1/rooms/\(room)/comments", authorization: authorization,
            #"{"text":"with a token \#(UUID().uuidString.prefix(8))"}"#)
    }

    /// A token verified once is told at once on its later posts (`VerifiedTokens`), on either
    /// bus: with the same answers, its room scope and its expiry included.
    @Test(arguments: [false, true]) func aTokensLaterPostsAreToldAtOnceWithTheSameAnswers(redis: Bool) async throws {
        if redis {
            try await RedisServer.with { server in try await postWithTokens(bus: RedisAddress(host: "127.0.0.1", port: server.port)) }
        } else {
            try await postWithTokens(bus: nil)
        }
    }

    private func postWithTokens(bus: RedisAddress?) async throws {
        try await withServer({ configuration in
            configuration.jwtSecret = Self.secret
            if let bus { configuration.bus = .redis(bus) }
        }) { _, port in
            let scoped = "Bearer " + (try await token(user: "u9", name: "Cy", rooms: ["r"]))
            for _ in 0..<3 {
                #expect(try await post(port, authorization: scoped).status == 201)
                #expect(try await post(port, room: "elsewhere", authorization: scoped).errorCode == "room_not_allowed")
            }
            let history = try await httpRequest(port: port, method: "GET", path: "/v1/rooms/r/comments?since=0").json
            let users = (history["comments"] as? [[String: Any]] ?? []).compactMap { ($0["user"] as? [String: Any])?["id"] as? String }
            #expect(users == ["u9", "u9", "u9"])

            // Kept while valid, never past its expiry.
            let brief = "Bearer " + (try await token(user: "u10", expires: 4))
            #expect(try await post(port, authorization: brief).status == 201)
            #expect(try await post(port, authorization: brief).status == 201)
            try await Task.sleep(for: .seconds(5))
            #expect(try await post(port, authorization: brief).errorCode == "token_expired")
        }
    }

    @Test func everyBadTokenHasItsOwnAnswerAndNothingIsStored() async throws {
        try await withServer({ $0.jwtSecret = Self.secret }) { _, port in
            let viewer = try await TestViewer.join(port: port, room: "r")
            let cases: [(String, String?, Int, String)] = [
                ("no token", nil, 401, "missing_token"),
                ("not a bearer token", "Basic dTpw", 401, "missing_token"),
                ("garbage", "Bearer not.a.jwt", 401, "invalid_token"),
                ("expired", "Bearer " + (try await token(expires: -60)), 401, "token_expired"),
                ("signed with another secret", "Bearer " + (try await token(secret: "another-secret-of-at-least-32-bytes")), 401, "invalid_token"),
                ("algorithm none", "Bearer " + unsignedToken(), 401, "invalid_token"),
                ("scoped to other rooms", "Bearer " + (try await token(rooms: ["other"])), 403, "room_not_allowed"),
            ]
            for (name, authorization, status, code) in cases {
                let reply = try await post(port, authorization: authorization)
                #expect(reply.status == status, "\(name): \(reply)")
                #expect(reply.errorCode == code, "\(name): \(reply)")
                if status == 401 { #expect(reply.headers["www-authenticate"]?.hasPrefix("Bearer") == true, "\(name)") }
            }
            #expect(try await httpRequest(port: port, method: "GET", path: "/v1/rooms/r/comments?since=0").json["lastSeq"] as? Int == 0)

            // A good token posts, as the user it names; a scoped one only in its rooms.
            let good = try await post(port, authorization: "Bearer " + (try await token(user: "u7", name: "Bea")))
            #expect(good.status == 201, "\(good)")
            let scoped = try await post(port, authorization: "Bearer " + (try await token(rooms: ["r", "s"])))
            #expect(scoped.status == 201, "\(scoped)")
            try await viewer.waitForComments(2)
            let first = viewer.observed.value.messages.first { $0["type"] as? String == "comments" }
            let user = ((first?["comments"] as? [[String: Any]])?.first?["user"] as? [String: Any])
            #expect(user?["id"] as? String == "u7" && user?["name"] as? String == "Bea")
            #expect(viewer.observed.value.seqs == [1, 2], "rejected posts were never shown")
            await viewer.close()
        }
    }

    @Test func socketPostsUseTheTokenFromTheUpgradeURL() async throws {
        try await withServer({ $0.jwtSecret = Self.secret }) { _, port in
            let anonymous = try await TestViewer.join(port: port, room: "r")
            try await anonymous.sendText(#"{"type":"comment","text":"no token"}"#)
            try await anonymous.observed.wait { $0.messages.contains { $0["type"] as? String == "error" } }
            let refusal = anonymous.observed.value.messages.last { $0["type"] as? String == "error" }
            #expect(refusal?["code"] as? String == "missing_token")

            let token = try await token(name: "Cy")
            let signedIn = try await TestViewer.connect(port: port, path: "/v1/rooms/r/ws?token=\(token)")
            try await signedIn.observed.wait { $0.messages.contains { $0["type"] as? String == "hello" } }
            try await signedIn.sendText(#"{"type":"comment","text":"with a token"}"#)
            try await signedIn.observed.wait { $0.messages.contains { $0["type"] as? String == "ack" } }
            try await anonymous.waitForComments(1)
            await anonymous.close()
            await signedIn.close()
        }
    }

    /// A comment carries its author's role, which exempts it from the pool flag's rule, a room's
    /// staff-only styles and display budgets, only where the author is staff: in a room the
    /// token may moderate. A streamer is staff of the rooms its token names; without `rooms`, of
    /// none (it posts everywhere as a viewer).
    @Test func anAuthorHasItsRoleOnlyWhereItIsStaff() async throws {
        let authenticator = TokenAuthenticator(secret: Self.secret)
        func role(_ role: PosterRole, rooms: [String]?, in room: String) async throws -> String? {
            let token = try await token(role: role, rooms: rooms)
            return try await authenticator.author(token: token, room: RoomID(room)!, clientAddress: "192.0.2.1").get().role
        }
        #expect(try await role(.streamer, rooms: ["stage", "side"], in: "side") == "streamer")
        #expect(try await role(.streamer, rooms: nil, in: "stage") == nil, "a streamer token without rooms is staff of no room")
        #expect(try await role(.moderator, rooms: nil, in: "stage") == "moderator")
        #expect(try await role(.moderator, rooms: ["stage"], in: "stage") == "moderator")
        #expect(try await role(.admin, rooms: nil, in: "stage") == "admin")
        #expect(try await role(.viewer, rooms: ["stage"], in: "stage") == nil)
    }

    /// `danmaku token` does not issue a streamer token that is staff of no room.
    @Test func theTokenCommandRefusesAStreamerWithoutRooms() async throws {
        func run(_ arguments: [String]) async throws -> Int32 {
            let process = Process()
            process.executableURL = DanmakuNode.executable
            process.arguments = ["token", "--secret", Self.secret, "--user", "s1", "--name", "Star"] + arguments
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            return try await DanmakuNode.waitForExit(process, timeout: .seconds(30))
        }
        #expect(try await run(["--role", "streamer"]) != 0)
        #expect(try await run(["--role", "streamer", "--rooms", "demo"]) == 0)
        #expect(try await run(["--role", "moderator"]) == 0, "a moderator without rooms moderates every room")
    }

    @Test func openModeNeedsNoToken() async throws {
        try await withServer { _, port in
            let anonymous = try await post(port, authorization: nil)
            #expect(anonymous.status == 201)
            // A token is ignored in open mode, even a bad one.
            let withToken = try await post(port, authorization: "Bearer nonsense")
            #expect(withToken.status == 201)
        }
    }
}
