// Danmaku — a live-stream bullet-comment service.

import Foundation
import Synchronization

/// Tokens whose signature this node has verified, with their claims, until they expire: a viewer
/// posts many times with one token, and only its first post waits on jwt-kit (asynchronous, behind
/// an actor). The others are told at once, so that they can be posted on their connection's loop
/// (`PostAuthenticator.authorNow`).
///
/// Only a token that verified is kept, keyed by its exact text: knowing the key is having the
/// token. Its expiry is checked on every use (an expired one is dropped and verified again, which
/// answers `token_expired`). Bounded: at most `capacity` tokens of at most `longestToken` bytes;
/// when full, the oldest half is dropped, and those tokens are verified again on their next post.
final class VerifiedTokens: Sendable {
    private struct State {
        var claims: [String: DanmakuClaims] = [:]
        /// Tokens in the order they were kept, for dropping the oldest.
        var order: [String] = []
    }

    private let state = Mutex(State())
    /// The most tokens kept.
    let capacity: Int
    /// Longer tokens are not kept (a token is a few hundred bytes; the request head bounds it).
    static let longestToken = 2048

    init(capacity: Int = 16_384) {
        self.capacity = max(2, capacity)
    }

    /// The claims of `token` if it verified before and has not expired by `now`.
    func claims(of token: String, now: Date = Date()) -> DanmakuClaims? {
        state.withLock { state in
            guard let claims = state.claims[token] else { return nil }
            guard claims.exp.value > now else {
                state.claims[token] = nil
                return nil
            }
            return claims
        }
    }

    /// Keeps `claims`, which `token` verified to.
    func keep(_ claims: DanmakuClaims, of token: String) {
        guard token.utf8.count <= Self.longestToken else { return }
        state.withLock { state in
            guard state.claims.updateValue(claims, forKey: token) == nil else { return }
            state.order.append(token)
            guard state.order.count > capacity else { return }
            // The oldest half goes, those already dropped as expired included.
            let dropped = state.order.prefix(state.order.count / 2)
            for old in dropped { state.claims[old] = nil }
            state.order.removeFirst(dropped.count)
        }
    }

    /// How many tokens are kept.
    var count: Int { state.withLock { $0.claims.count } }
}
