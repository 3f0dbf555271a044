// Danmaku — a live-stream bullet-comment service.

import DanmakuCore

/// Decides who is posting: from the post's token, or anonymously in open mode.
public protocol PostAuthenticator: Sendable {
    /// The author of a post to `room` that carried `token` (nil: none), or the 401/403 to answer.
    func author(token: String?, room: RoomID, clientAddress: String) async -> Result<CommentAuthor, DanmakuError>

    /// The user `token` names (with its role) if it may moderate `room` (nil: the whole node,
    /// e.g. the word list), or the 401/403 to answer.
    func moderator(token: String?, room: RoomID?) async -> Result<CommentAuthor, DanmakuError>

    /// `author`, when it can be told without waiting on anything (no store to ask, no actor to
    /// enter); nil when it cannot, and the caller asks `author`.
    func authorNow(token: String?, room: RoomID, clientAddress: String) -> Result<CommentAuthor, DanmakuError>?

    /// Whether `authorNow` answers (nearly) every post: a node posts on its event loop only with
    /// such an authenticator, and does not try one that never does before every post.
    var answersAtOnce: Bool { get }
}

extension PostAuthenticator {
    public func authorNow(token: String?, room: RoomID, clientAddress: String) -> Result<CommentAuthor, DanmakuError>? { nil }
    public var answersAtOnce: Bool { false }
}

/// Open (development) mode: no token needed; one anonymous author per client address. A token,
/// if sent, is ignored.
public struct OpenPosting: PostAuthenticator {
    /// Who an address posts as.
    private let identity: AnonymousIdentity

    /// - Parameter identity: this process's own by default; a deployment's nodes share theirs.
    public init(identity: AnonymousIdentity = .processLocal) {
        self.identity = identity
    }

    public func author(token: String?, room: RoomID, clientAddress: String) async -> Result<CommentAuthor, DanmakuError> {
        do {
            return .success(try await identity.author(forAddress: clientAddress))
        } catch {
            return .failure(.busUnavailable("anonymous salt: \(error)"))
        }
    }

    /// Every post but the first after the salt's refresh (which reads it again).
    public var answersAtOnce: Bool { true }

    /// The address's author while the salt read last is fresh (nearly always).
    public func authorNow(token: String?, room: RoomID, clientAddress: String) -> Result<CommentAuthor, DanmakuError>? {
        identity.knownAuthor(forAddress: clientAddress).map { .success($0) }
    }

    /// Nobody can prove who they are, so nobody moderates.
    public func moderator(token: String?, room: RoomID?) async -> Result<CommentAuthor, DanmakuError> {
        .failure(.moderationNeedsTokens)
    }
}
