// Danmaku — a live-stream bullet-comment service.

import DanmakuCore
import Foundation
import JWTKit

/// What a user may do, from least to most.
public enum PosterRole: String, Codable, Sendable, CaseIterable {
    /// Watches and posts.
    case viewer
    /// Also moderates the rooms of their `rooms` scope (none without one).
    case streamer
    /// Moderates every room (or the `rooms` scope).
    case moderator
    /// Everything.
    case admin
}

/// The claims of a Danmaku token (HS256).
public struct DanmakuClaims: JWTPayload, Equatable {
    /// The user's stable id.
    public var sub: SubjectClaim
    /// The display name viewers see.
    public var name: String
    public var role: PosterRole
    public var exp: ExpirationClaim
    /// Rooms the token may post in and, for a streamer or a moderator, the rooms it is staff of;
    /// nil means posting in every room, a moderator of every room and a streamer of none.
    public var rooms: [String]?
    /// The user's level on the site (a Bilibili-style LV0–LV6, `CommentWeight.levels`), when the
    /// site issues one: it raises or lowers the weight of their comments (`CommentWeight`). A token
    /// with a level outside 0–6 is refused (`invalid_token`).
    public var level: Int?

    public init(user: String, name: String, role: PosterRole, expires: Date, rooms: [String]? = nil, level: Int? = nil) {
        self.sub = SubjectClaim(value: user)
        self.name = name
        self.role = role
        self.exp = ExpirationClaim(value: expires)
        self.rooms = rooms
        self.level = level
    }

    /// Whether these claims may moderate `room` (nil: node-wide settings such as the word list).
    /// Admins moderate everything; moderators every room of their scope (node-wide only without
    /// a scope); streamers only the rooms of their scope.
    public func mayModerate(room: String?) -> Bool {
        switch role {
        case .admin: return true
        case .moderator: return room.map { rooms?.contains($0) ?? true } ?? (rooms == nil)
        case .streamer: return room.map { rooms?.contains($0) ?? false } ?? false
        case .viewer: return false
        }
    }

    public func verify(using algorithm: some JWTAlgorithm) async throws {
        try exp.verifyNotExpired()
    }
}
