// Danmaku — a live-stream bullet-comment service.

import DanmakuCore
import DanmakuLogic
import Foundation
import JWTKit

/// Posting with a token: HS256 signed with the server's secret, not expired, scoped to the room.
///
/// Only HS256 with this secret is accepted: a token of another algorithm (`none` included) or
/// signed with another key is `invalid_token`, an expired one `token_expired`, one whose `rooms`
/// leave this room out `room_not_allowed`, and a post without a token `missing_token`. A `level`
/// claim outside `CommentWeight.levels` (0–6) is `invalid_token` too: a site that sends another
/// scale would otherwise weigh its users wrongly without anyone noticing.
public struct TokenAuthenticator: PostAuthenticator {
    /// The key collection, set up once (adding a key is asynchronous in jwt-kit).
    private let keys: Task<JWTKeyCollection, Never>
    /// Tokens verified before, told at once (`authorNow`).
    let verified = VerifiedTokens()

    /// The shortest secret accepted: HS256 keys must be at least as long as the hash (RFC 7518 §3.2).
    public static let minimumSecretBytes = 32

    /// Verifies tokens signed with `secret` (at least `minimumSecretBytes` long).
    public init(secret: String) {
        precondition(secret.utf8.count >= Self.minimumSecretBytes, "an HS256 secret needs at least 32 bytes")
        keys = Task {
            let keys = JWTKeyCollection()
            await keys.add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256)
            return keys
        }
    }

    public func author(token: String?, room: RoomID, clientAddress: String) async -> Result<CommentAuthor, DanmakuError> {
        switch await claims(token: token) {
        case .failure(let error): return .failure(error)
        case .success(let claims):
            if let rooms = claims.rooms, !rooms.contains(room.value) { return .failure(.roomNotAllowed) }
            return .success(Self.author(claims, in: room))
        }
    }

    /// `author` for a token this node verified before and that has not expired: its room scope is
    /// checked as `author` checks it. Nil for a token not seen yet (or expired, or none), which
    /// `author` then verifies.
    public func authorNow(token: String?, room: RoomID, clientAddress: String) -> Result<CommentAuthor, DanmakuError>? {
        guard let token, let claims = verified.claims(of: token) else { return nil }
        if let rooms = claims.rooms, !rooms.contains(room.value) { return .failure(.roomNotAllowed) }
        return .success(Self.author(claims, in: room))
    }

    /// A viewer's posts after its first are told at once.
    public var answersAtOnce: Bool { true }

    public func moderator(token: String?, room: RoomID?) async -> Result<CommentAuthor, DanmakuError> {
        switch await claims(token: token) {
        case .failure(let error): return .failure(error)
        case .success(let claims):
            return claims.mayModerate(room: room?.value) ? .success(Self.author(claims, in: room)) : .failure(.notAModerator)
        }
    }

    /// The author the claims name in `room` (nil: node-wide), with its role only where it is
    /// staff, i.e. may moderate there (`DanmakuClaims.mayModerate`). The role is what exempts a
    /// comment from the pool flag's rule, a room's staff-only styles and display budgets, so
    /// those ask the question moderation asks: a streamer is staff of the rooms its token names
    /// and posts everywhere else as a viewer.
    static func author(_ claims: DanmakuClaims, in room: RoomID?) -> CommentAuthor {
        let staff = claims.role != .viewer && claims.mayModerate(room: room?.value)
        return CommentAuthor(id: claims.sub.value, name: claims.name, role: staff ? claims.role.rawValue : nil, level: claims.level)
    }

    /// The token's verified claims.
    public func claims(token: String?) async -> Result<DanmakuClaims, DanmakuError> {
        guard let token, !token.isEmpty else { return .failure(.missingToken) }
        do {
            let claims = try await keys.value.verify(token, as: DanmakuClaims.self)
            if let level = claims.level, !CommentWeight.levels.contains(level) {
                return .failure(.invalidToken("level must be \(CommentWeight.levels.lowerBound) to \(CommentWeight.levels.upperBound)"))
            }
            verified.keep(claims, of: token)
            return .success(claims)
        } catch let error as JWTError where error.errorType == .claimVerificationFailure && error.failedClaim is ExpirationClaim {
            return .failure(.tokenExpired)
        } catch let error as JWTError {
            return .failure(.invalidToken(Self.reason(error)))
        } catch {
            return .failure(.invalidToken("claims are not a Danmaku token's"))
        }
    }

    private static func reason(_ error: JWTError) -> String {
        switch error.errorType {
        case .signatureVerificationFailed: "bad signature"
        case .malformedToken: "malformed token"
        case .missingKIDHeader, .unknownKID, .noKeyProvided: "not signed with this server's key (only HS256 is accepted)"
        case .claimVerificationFailure: "a claim failed verification"
        default: "cannot be verified"
        }
    }
}

/// Issues tokens (the `danmaku token` command, and tests).
public enum TokenIssuer {
    /// Signs `claims` with `secret` (at least `TokenAuthenticator.minimumSecretBytes` long).
    public static func sign(_ claims: DanmakuClaims, secret: String) async throws -> String {
        precondition(secret.utf8.count >= TokenAuthenticator.minimumSecretBytes, "an HS256 secret needs at least 32 bytes")
        let keys = JWTKeyCollection()
        await keys.add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256)
        return try await keys.sign(claims)
    }
}
