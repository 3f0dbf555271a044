// Danmaku — a live-stream bullet-comment service.

import DanmakuCore
import Foundation

/// Per-address budget for the reads that cost the store real work: history and replay reads,
/// room stats (`GET /v1/rooms/{room}`, `GET /v1/rooms?top=N`), a socket's `join` and a resume
/// (a socket or event stream opened with `since`: history reads; in cluster mode a Redis
/// script), and an author's recall (a lookup by id in history). One client cannot keep the
/// store busy for everyone.
public final class ReadBudget: Sendable {
    private let limiter: RateLimiter

    /// - Parameter limit: reads per second per client address, with a burst.
    public init(limit: RateLimit) {
        limiter = RateLimiter(limits: [.ip: limit])
    }

    /// Takes one read for `clientAddress`; the `429 rate_limited` (scope `reads`) to answer when
    /// its budget is spent.
    public func admit(clientAddress: String, now: Double = Date().timeIntervalSince1970) -> DanmakuError? {
        guard let refused = limiter.acquire(keys: [.ip: clientAddress], now: now) else { return nil }
        return .rateLimited(scope: "reads", retryAfter: refused.retryAfterSeconds ?? 1)
    }
}
