@testable import DanmakuAuth
import DanmakuCore
import Foundation
import Testing

/// The tokens a node keeps once verified: only verified ones, until they expire, and no more than
/// its bound.
@Suite struct VerifiedTokensTests {
    static let secret = "test-secret-of-at-least-32-bytes!"

    func claims(_ user: String, expires: TimeInterval = 3600) -> DanmakuClaims {
        DanmakuClaims(user: user, name: user, role: .viewer, expires: Date().addingTimeInterval(expires), rooms: ["r"])
    }

    @Test func onlyATokenThatVerifiedIsToldAtOnce() async throws {
        let authenticator = TokenAuthenticator(secret: Self.secret)
        let room = RoomID("r")!
        let good = try await TokenIssuer.sign(claims("u1"), secret: Self.secret)
        let forged = try await TokenIssuer.sign(claims("u1"), secret: "another-secret-of-at-least-32-bytes")
        #expect(authenticator.authorNow(token: good, room: room, clientAddress: "a") == nil, "not verified yet")
        if case .success = await authenticator.author(token: forged, room: room, clientAddress: "a") { Issue.record("a forged token fails") }
        #expect(authenticator.authorNow(token: forged, room: room, clientAddress: "a") == nil, "and is never kept")
        _ = try await authenticator.author(token: good, room: room, clientAddress: "a").get()
        #expect(try authenticator.authorNow(token: good, room: room, clientAddress: "a")?.get().id == "u1")
        if case .failure(let error) = authenticator.authorNow(token: good, room: RoomID("other")!, clientAddress: "a") {
            #expect(error.code == "room_not_allowed")
        } else {
            Issue.record("the token's room scope is checked at once too")
        }
        #expect(authenticator.authorNow(token: nil, room: room, clientAddress: "a") == nil)
    }

    @Test func anExpiredTokenIsDroppedAndALongOneNeverKept() {
        let tokens = VerifiedTokens(capacity: 8)
        tokens.keep(claims("u1", expires: 60), of: "t1")
        #expect(tokens.claims(of: "t1")?.sub.value == "u1")
        #expect(tokens.claims(of: "t1", now: Date().addingTimeInterval(61)) == nil)
        #expect(tokens.count == 0, "dropped once seen expired")
        tokens.keep(claims("u2"), of: String(repeating: "x", count: VerifiedTokens.longestToken + 1))
        #expect(tokens.count == 0)
    }

    @Test func theNumberKeptIsBoundedAndTheTokensInUseStay() {
        let tokens = VerifiedTokens(capacity: 100)
        for index in 0..<1_000 { tokens.keep(claims("u\(index)"), of: "t\(index)") }
        #expect(tokens.count <= 100)
        #expect(tokens.claims(of: "t999") != nil, "the newest are kept")
        #expect(tokens.claims(of: "t0") == nil, "the oldest go")

        let used = VerifiedTokens(capacity: 100)
        for index in 0..<50 { used.keep(claims("u\(index)"), of: "t\(index)") }
        // t0 is posted with while the others only watch; two generations later it is still kept.
        for index in 50..<150 {
            _ = used.claims(of: "t0")
            used.keep(claims("u\(index)"), of: "t\(index)")
        }
        #expect(used.claims(of: "t0")?.sub.value == "u0")
        #expect(used.claims(of: "t1") == nil)
    }

    @Test func aTokenOutOfBoundsIsVerifiedEveryTimeNeverKept() async throws {
        let authenticator = TokenAuthenticator(secret: Self.secret)
        let room = RoomID("r")!
        let badLevel = try await TokenIssuer.sign(
            DanmakuClaims(user: "u1", name: "u1", role: .viewer, expires: Date().addingTimeInterval(3600), level: 9), secret: Self.secret)
        if case .success = await authenticator.author(token: badLevel, room: room, clientAddress: "a") { Issue.record("level 9 is refused") }
        #expect(authenticator.authorNow(token: badLevel, room: room, clientAddress: "a") == nil)
        let manyRooms = try await TokenIssuer.sign(
            DanmakuClaims(user: "u2", name: "u2", role: .viewer, expires: Date().addingTimeInterval(3600),
                          rooms: (0...VerifiedTokens.mostRooms).map { "r\($0)" } + ["r"]), secret: Self.secret)
        #expect(try await authenticator.author(token: manyRooms, room: room, clientAddress: "a").get().id == "u2")
        #expect(authenticator.authorNow(token: manyRooms, room: room, clientAddress: "a") == nil)
        #expect(authenticator.verified.count == 0)
    }
}
