// Danmaku — a live-stream bullet-comment service.

import DanmakuBus
import DanmakuCore
import DanmakuRedis
import Foundation
import Logging
import NIOCore
import Synchronization

/// A push node's room feeds on the distributed bus, behind one lock: each room's subscribers, its
/// channel's subscription, and what it has received. `FeedChannels` keeps the channels subscribed;
/// `RedisFeeds` hands what arrives to the subscribers and reads back what did not.
final class FeedTable: Sendable {
    /// A room's feed: it exists while any local subscriber wants it.
    struct Feed {
        var subscribers: [ObjectIdentifier: any BusSubscriber] = [:]
        /// The room channel's subscription.
        var channel = ChannelSubscription()
        var readingCounter = false
        var repairing = false
        var tracker: SeqTracker?
        /// Which comment went out at each recent seq, to tell one a failover numbered again.
        var passed = PassedSeqs()
        /// When the room's latest stream entries are compared with what was passed on
        /// (`verifyRecent`), and the comments those comparisons named lost.
        var comparison = FailoverComparison()
        /// Comments (seq and id) whose pub/sub copy at a skipped seq is being checked against
        /// the stream (`deliver`): one read each at a time.
        var confirming: Set<String> = []
        /// The numbering the feed's seqs belong to (its epoch; 0 for none yet).
        var epoch: Int64 = 0
        /// The room's numbering started over while the feed ran: the seqs it knows are the old
        /// numbering's, so its counter is never raised to them.
        var numberingStartedOver = false
        /// Which of the room's retractions have been passed on (counted from when `tracker` is
        /// set), and the reads that bring back those missed.
        var retractions = RetractionReadBack()
        var ready: EventLoopPromise<Void>
    }

    /// The feeds, and what the next maintenance tick is to do for all of them.
    struct State {
        var feeds: [RoomID: Feed] = [:]
        var pollSoon = false
        /// The router's slot map version the feeds' nodes were last checked against.
        var topologyVersion = -1
    }

    /// Every feed, and when the counters are to be polled next.
    let state = Mutex(State())

    /// The bus, set once it exists (its subscriber client, which calls `resubscribe`, is made
    /// before it); cleared at shutdown.
    let owner = Mutex<RedisBus?>(nil)
}
