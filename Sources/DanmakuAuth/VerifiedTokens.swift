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
/// answers `token_expired`).
///
/// Bounded in two generations of at most `capacity / 2` tokens each: when the newer is full it
/// becomes the older, and the older is let go (outside the lock: the loops asking meanwhile do not
/// wait on freeing thousands of strings). A token used from the older generation moves to the
/// newer, so the tokens of viewers who post stay and those of viewers who only watch (their
/// socket's token is verified too) go within two generations, expired ones with them. A token
/// longer than `longestToken` bytes or naming more than `mostRooms` rooms is not kept: each kept
/// token costs about twice its length.
final class VerifiedTokens: Sendable {
    private struct Generations {
        var newer: [String: DanmakuClaims] = [:]
        var older: [String: DanmakuClaims] = [:]
    }

    private let generations = Mutex(Generations())
    /// The most tokens kept, both generations together.
    let capacity: Int
    /// Longer tokens are not kept (a token is a few hundred bytes; the request head bounds it).
    static let longestToken = 1024
    /// Tokens scoped to more rooms are not kept.
    static let mostRooms = 16

    init(capacity: Int = 16_384) {
        self.capacity = max(2, capacity)
    }

    /// The claims of `token` if it verified before and has not expired by `now`.
    func claims(of token: String, now: Date = Date()) -> DanmakuClaims? {
        guard token.utf8.count <= Self.longestToken else { return nil }
        var retired: [String: DanmakuClaims] = [:]
        let claims = generations.withLock { generations -> DanmakuClaims? in
            if let claims = generations.newer[token] {
                guard claims.exp.value > now else {
                    generations.newer[token] = nil
                    return nil
                }
                return claims
            }
            guard let claims = generations.older.removeValue(forKey: token), claims.exp.value > now else { return nil }
            retired = Self.add(claims, of: token, to: &generations, half: capacity / 2)
            return claims
        }
        _ = retired
        return claims
    }

    /// Keeps `claims`, which `token` verified to.
    func keep(_ claims: DanmakuClaims, of token: String) {
        guard token.utf8.count <= Self.longestToken, (claims.rooms?.count ?? 0) <= Self.mostRooms else { return }
        var retired: [String: DanmakuClaims] = [:]
        generations.withLock { generations in
            retired = Self.add(claims, of: token, to: &generations, half: capacity / 2)
        }
        // Freed here, after the lock.
        _ = retired
    }

    /// Adds to the newer generation; when that is full it becomes the older, and the older it
    /// replaces is returned, to be freed by the caller outside the lock.
    private static func add(
        _ claims: DanmakuClaims, of token: String, to generations: inout Generations, half: Int
    ) -> [String: DanmakuClaims] {
        generations.newer[token] = claims
        guard generations.newer.count >= half else { return [:] }
        let retired = generations.older
        generations.older = generations.newer
        generations.newer = [:]
        return retired
    }

    /// How many tokens are kept.
    var count: Int { generations.withLock { $0.newer.count + $0.older.count } }
}
