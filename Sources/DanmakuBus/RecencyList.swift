// Danmaku — a live-stream bullet-comment service.

/// Keys in the order they were last touched, oldest first: touching, removing and finding the
/// oldest are O(1), so a store can forget its least recently used item without sorting or
/// scanning (a doubly linked list kept in a dictionary, by key).
public struct RecencyList<Key: Hashable>: Sendable where Key: Sendable {
    private struct Links {
        var older: Key?
        var newer: Key?
    }

    private var links: [Key: Links] = [:]
    /// The least recently touched key.
    public private(set) var oldest: Key?
    private var newest: Key?

    public init() {}

    public var count: Int { links.count }
    public var isEmpty: Bool { links.isEmpty }

    public func contains(_ key: Key) -> Bool { links[key] != nil }

    /// Makes `key` the most recently touched, adding it when absent.
    public mutating func touch(_ key: Key) {
        if links[key] != nil {
            if newest == key { return }
            remove(key)
        }
        links[key] = Links(older: newest, newer: nil)
        if let newest { links[newest]?.newer = key }
        newest = key
        if oldest == nil { oldest = key }
    }

    /// Takes `key` out; whether it was there.
    @discardableResult
    public mutating func remove(_ key: Key) -> Bool {
        guard let removed = links.removeValue(forKey: key) else { return false }
        if let older = removed.older { links[older]?.newer = removed.newer } else { oldest = removed.newer }
        if let newer = removed.newer { links[newer]?.older = removed.older } else { newest = removed.older }
        return true
    }
}
