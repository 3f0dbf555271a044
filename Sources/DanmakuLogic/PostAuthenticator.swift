// Danmaku — a live-stream bullet-comment service.

import DanmakuCore

/// Decides who is posting: from the post's token, or anonymously in open mode.
public protocol PostAuthenticator: Sendable {
    /// The author of a post to `room` that carried `token` (nil: none), or the 401/403 to answer.
    func author(token: String?, room: RoomID, clientAddress: String) async -> Result<CommentAuthor, DanmakuError>
}

/// Open (development) mode: no token needed; one anonymous author per client address. A token,
/// if sent, is ignored.
public struct OpenPosting: PostAuthenticator {
    public init() {}

    public func author(token: String?, room: RoomID, clientAddress: String) async -> Result<CommentAuthor, DanmakuError> {
        .success(AnonymousIdentity.author(forAddress: clientAddress))
    }
}
