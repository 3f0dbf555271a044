// Danmaku — a live-stream bullet-comment service.

import DanmakuCore
import Foundation

/// Who a like (of a live or a video comment) comes from, charged to their like rate
/// (`--like-limit`): one budget per user across live and video likes.
struct Likers: Sendable {
    let authenticator: any PostAuthenticator
    let limiter: RateLimiter

    init(authenticator: any PostAuthenticator, limit: RateLimit) {
        self.authenticator = authenticator
        self.limiter = RateLimiter(limits: [.user: limit])
    }

    /// The author `token` stands for in `room`, charged one like, or the refusal.
    func liker(token: String?, room: RoomID, clientAddress: String) async -> Result<CommentAuthor, DanmakuError> {
        switch await authenticator.author(token: token, room: room, clientAddress: clientAddress) {
        case .success(let author):
            if let limited = limiter.acquire(keys: [.user: author.id], now: Date().timeIntervalSince1970) { return .failure(limited) }
            return .success(author)
        case .failure(let error):
            return .failure(error)
        }
    }
}
