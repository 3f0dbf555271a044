// Danmaku — a live-stream bullet-comment service.

import DanmakuCore
import Synchronization

/// What a comment is counted against.
public enum RateScope: String, Sendable, CaseIterable {
    case user, ip, room
    /// A user's reports of comments: a budget apart from their comments and likes.
    case reports
}

/// Token buckets per user, per client IP and per room; a comment passes only if all three allow it.
///
/// Memory is bounded: a bucket that has refilled is forgotten (it is equivalent to no bucket),
/// and when more than `maxTrackedKeys` keys are live at once, new keys are refused until some refill.
public final class RateLimiter: Sendable {
    /// The limits per scope.
    public let limits: [RateScope: RateLimit]
    /// Upper bound on live buckets per scope.
    public let maxTrackedKeys: Int

    private struct State {
        var buckets: [RateScope: [String: TokenBucket]] = [:]
    }

    private let state = Mutex(State())

    public init(limits: [RateScope: RateLimit], maxTrackedKeys: Int = 200_000) {
        self.limits = limits
        self.maxTrackedKeys = maxTrackedKeys
    }

    /// Takes one token from each scope's bucket, or none if any scope is exhausted.
    ///
    /// - Returns: `nil` when allowed, otherwise the error to send (with the seconds to wait).
    public func acquire(keys: [RateScope: String], now: Double) -> DanmakuError? {
        state.withLock { state in
            var checked: [(RateScope, String, TokenBucket, RateLimit)] = []
            for scope in RateScope.allCases {
                guard let key = keys[scope], let limit = limits[scope] else { continue }
                var scopeBuckets = state.buckets[scope, default: [:]]
                if scopeBuckets[key] == nil, scopeBuckets.count >= maxTrackedKeys {
                    scopeBuckets = scopeBuckets.filter { !$0.value.isFull(limit: limit, now: now) }
                    state.buckets[scope] = scopeBuckets
                    if scopeBuckets.count >= maxTrackedKeys {
                        return .rateLimited(scope: "server", retryAfter: 1)
                    }
                }
                var bucket = scopeBuckets[key] ?? TokenBucket(limit: limit, now: now)
                if bucket.available(limit: limit, now: now) < 1 {
                    return .rateLimited(scope: scope.rawValue, retryAfter: RetryAfter.seconds(bucket.secondsUntilToken(limit: limit)))
                }
                checked.append((scope, key, bucket, limit))
            }
            for (scope, key, var bucket, _) in checked {
                bucket.take()
                state.buckets[scope, default: [:]][key] = bucket
            }
            return nil
        }
    }

    /// Gives back the tokens `acquire` took for `keys`: the post they paid for was not accepted
    /// (the store failed), so its retry must not be charged twice.
    public func refund(keys: [RateScope: String]) {
        state.withLock { state in
            for scope in RateScope.allCases {
                guard let key = keys[scope], let limit = limits[scope], var bucket = state.buckets[scope]?[key] else { continue }
                bucket.giveBack(limit: limit)
                state.buckets[scope]?[key] = bucket
            }
        }
    }

    /// Buckets currently tracked for `scope` (for tests and metrics).
    public func trackedKeys(_ scope: RateScope) -> Int {
        state.withLock { $0.buckets[scope]?.count ?? 0 }
    }
}
