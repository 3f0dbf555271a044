// Danmaku — a live-stream bullet-comment service.

import DanmakuCore

/// Authors for posts made without a token (open mode): one anonymous user per client address.
///
/// The address itself is never shown to viewers; it is hashed with a per-process seed.
public enum AnonymousIdentity {
    /// The author for a client at `address`.
    public static func author(forAddress address: String) -> CommentAuthor {
        var hasher = Hasher()
        hasher.combine(address)
        let digest = UInt32(truncatingIfNeeded: hasher.finalize())
        let id = "anon-" + String(digest, radix: 16)
        return CommentAuthor(id: id, name: "anonymous")
    }
}
