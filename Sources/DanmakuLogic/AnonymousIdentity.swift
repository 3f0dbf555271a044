// Danmaku — a live-stream bullet-comment service.

import Crypto
import DanmakuCore
import Foundation
import Synchronization

/// Authors for posts made without a token (open mode): one anonymous user per client address.
///
/// The address itself is never shown to viewers: the id is an HMAC of it under a secret salt.
/// Every logic node of a deployment must give an address the same id (its idempotency keys,
/// duplicates and recall rights follow the id from node to node), so on Redis the salt is the
/// deployment's, kept in Redis (`RedisBus.anonymousSalt`); a single process makes its own.
public final class AnonymousIdentity: Sendable {
    /// The salt once known, and when it was last read.
    private let salt: Mutex<(key: SymmetricKey, read: ContinuousClock.Instant)?>
    /// Where the salt comes from.
    private let fetchSalt: @Sendable () async throws -> [UInt8]
    /// How long a salt read is trusted: the deployment's may be made anew (Redis lost it, a
    /// failover to a replica without it), and every node must move to the new one.
    private let refresh: Duration

    /// An identity whose salt comes from `fetchSalt`, read again every `refresh`.
    public init(refresh: Duration = .seconds(60), fetchSalt: @escaping @Sendable () async throws -> [UInt8]) {
        self.salt = Mutex(nil)
        self.refresh = refresh
        self.fetchSalt = fetchSalt
    }

    /// An identity with a salt of its own, made now (one process, no other node to agree with).
    public convenience init() {
        let salt = SymmetricKey(size: .bits256)
        self.init(refresh: .seconds(86_400 * 365), fetchSalt: { salt.withUnsafeBytes { Array($0) } })
        self.salt.withLock { $0 = (salt, .now) }
    }

    /// This process's own identity, for open mode on the memory bus.
    public static let processLocal = AnonymousIdentity()

    /// The author for a client at `address`, under this process's own salt.
    public static func author(forAddress address: String) -> CommentAuthor {
        let salt = processLocal.salt.withLock { $0?.key } ?? SymmetricKey(size: .bits256)
        return author(forAddress: address, salt: salt)
    }

    /// The author for a client at `address` when the salt is known and fresh, nil when it must be
    /// read first (`author(forAddress:)`). Recent addresses' authors are kept (`recent`): the
    /// HMAC was a twentieth of a post's CPU, and a poster posts again.
    public func knownAuthor(forAddress address: String) -> CommentAuthor? {
        let now = ContinuousClock.now
        guard let known = salt.withLock({ $0 }), now - known.read < refresh else { return nil }
        let generation = known.read
        if let kept = recent.withLock({ $0.generation == generation ? $0.authors[address] : nil }) { return kept }
        let author = Self.author(forAddress: address, salt: known.key)
        recent.withLock { recent in
            // A new salt starts afresh; past the bound, so does the next address (an attacker
            // with many addresses only empties it).
            if recent.generation != generation || recent.authors.count >= Self.recentCapacity {
                recent = (generation, [:])
            }
            recent.authors[address] = author
        }
        return author
    }

    /// The authors of recent addresses under the salt read at `generation`.
    private let recent = Mutex<(generation: ContinuousClock.Instant?, authors: [String: CommentAuthor])>((nil, [:]))
    /// At most this many addresses' authors are kept.
    public static let recentCapacity = 4096

    /// The author for a client at `address`; throws when the salt cannot be had (the bus is down).
    public func author(forAddress address: String) async throws -> CommentAuthor {
        let now = ContinuousClock.now
        if let known = salt.withLock({ $0 }), now - known.read < refresh { return Self.author(forAddress: address, salt: known.key) }
        let fetched = SymmetricKey(data: try await fetchSalt())
        salt.withLock { $0 = (fetched, now) }
        return Self.author(forAddress: address, salt: fetched)
    }

    private static func author(forAddress address: String, salt: SymmetricKey) -> CommentAuthor {
        let mac = HMAC<SHA256>.authenticationCode(for: Data(address.utf8), using: salt)
        // Hex by table: `String(format:)` per byte cost more than the HMAC itself, on every post.
        var id = Array("anon-".utf8)
        for byte in mac.prefix(6) {
            id.append(hexDigits[Int(truncatingIfNeeded: byte >> 4)])
            id.append(hexDigits[Int(truncatingIfNeeded: byte & 0x0F)])
        }
        return CommentAuthor(id: String(decoding: id, as: UTF8.self), name: "anonymous")
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)
}
