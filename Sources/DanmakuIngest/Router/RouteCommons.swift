// Danmaku — a live-stream bullet-comment service.

import DanmakuCore

/// What endpoints of several areas share: the `Idempotency-Key` header of posts, and the error
/// answers of the read budget, tokens, bodies, recalls and the store.
enum RouteCommons {
    /// The header that makes a post safe to retry.
    static let idempotencyKey = APIParameter("Idempotency-Key", .string(minLength: 1, maxLength: IdempotencyKey.maxBytes, pattern: "^[!-~]+$"), "A retry with the same key gets the first answer.")

    /// A read over the address's read budget.
    static let readBudget = APIErrorSpec(429, "rate_limited")
    /// A missing, malformed or expired bearer token.
    static let tokenErrors = APIErrorSpec(401, "missing_token", "invalid_token", "token_expired")
    /// A token that may not do this (or a node without moderator tokens).
    static let forbidden = APIErrorSpec(403, "forbidden", "moderation_needs_tokens")
    /// The shared store (Redis) cannot be reached.
    static let storeDown = APIErrorSpec(503, "bus_unavailable")
    /// Taking a comment back: its author within the recall window, or the room's staff.
    static let recallErrors = [APIErrorSpec(403, "forbidden", "recall_expired", "moderation_needs_tokens"), APIErrorSpec(404, "not_found")]
    /// A JSON body, its `Content-Type` checked (posts).
    static let bodyErrors = [APIErrorSpec(400, "invalid_json"), APIErrorSpec(413, "body_too_large"), APIErrorSpec(415, "unsupported_media_type")]
    /// A JSON body, read whatever its `Content-Type` (staff calls).
    static let staffBodyErrors = [APIErrorSpec(400, "invalid_json"), APIErrorSpec(413, "body_too_large")]
    /// A post retried with an `Idempotency-Key` whose first answer is not settled, or with another body.
    static let idempotencyErrors = [APIErrorSpec(409, "idempotency_in_progress", "idempotency_outcome_unknown"), APIErrorSpec(422, "idempotency_key_reused")]
}
