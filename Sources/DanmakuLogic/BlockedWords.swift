// Danmaku — a live-stream bullet-comment service.

import Synchronization

/// The blocked-word list in force, replaceable at run time (`PUT /v1/admin/words`, a reloaded
/// `--words-file`) while posts are being checked against it.
public final class BlockedWords: Sendable {
    private let filter: Mutex<SensitiveWordFilter>

    public init(_ words: [String]) {
        filter = Mutex(SensitiveWordFilter(words: words))
    }

    /// Replaces the list: posts checked after this see only the new words.
    public func replace(with words: [String]) {
        // Built outside the lock: a long list takes a while, and posts keep checking meanwhile.
        let rebuilt = SensitiveWordFilter(words: words)
        filter.withLock { $0 = rebuilt }
    }

    /// The filter in force now (a value: checking it holds no lock).
    var current: SensitiveWordFilter { filter.withLock { $0 } }
}
