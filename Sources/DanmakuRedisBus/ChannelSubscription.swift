// Danmaku — a live-stream bullet-comment service.

import DanmakuRedis

/// Where a room feed's channel is subscribed (`SSUBSCRIBE`), and whether the subscription is
/// live, on its way, or down (to be sent again by the next maintenance tick).
struct ChannelSubscription {
    /// Bumped on each (re)subscription, so a stale acknowledgement is not taken for a new one.
    private(set) var generation = 0
    private(set) var subscribed = false
    private(set) var subscribing = false
    /// The node the channel is subscribed on (or being subscribed on).
    private(set) var node: RedisNode?

    /// A subscription is sent (on `node`'s new connection, or to wherever the channel lives when
    /// nil); returns its generation.
    mutating func send(on node: RedisNode?) -> Int {
        generation += 1
        subscribing = true
        subscribed = false
        self.node = node
        return generation
    }

    /// The subscription of `generation` was answered (by `node`; nil when it failed); whether it
    /// is live now. An answer to an older one is ignored.
    mutating func answered(_ generation: Int, by node: RedisNode?) -> Bool {
        guard self.generation == generation else { return false }
        subscribing = false
        guard let node else { return false }
        subscribed = true
        self.node = node
        return true
    }

    /// The subscription connection to its node was made anew: the channel is subscribed there
    /// again, or where it lives now.
    mutating func reconnected() {
        subscribed = false
        node = nil
    }

    /// The server dropped the channel, or its slot moved: down until it is sent again, and an
    /// answer on its way is ignored.
    mutating func drop() {
        generation += 1
        subscribed = false
        subscribing = false
        node = nil
    }
}
