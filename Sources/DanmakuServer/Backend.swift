// Danmaku — a live-stream bullet-comment service.

import DanmakuArchive
import DanmakuBus
import DanmakuCore
import DanmakuLogic
import DanmakuRedisBus
import Foundation

/// Every port a deployment's logic and push roles use, from one kind of store: the memory bus
/// (one process), the SQLite archive (one process, durable) or Redis (a cluster). Built in one
/// place, so that a deployment cannot mix a Redis bus with an in-memory moderation store.
struct Backend {
    /// Numbering, history and pub/sub.
    var bus: any CommentBus & CommentLog
    /// Bans, room settings.
    var moderation: any ModerationStore
    /// Viewer counts per node and room.
    var presence: any PresenceStore
    /// Streams and replay; nil without an archive or Redis.
    var replay: (any ReplayStore)?
    var likes: any LikeStore
    var videos: any VideoPoolStore
    /// Reported comments awaiting the rooms' staff.
    var reports: any ReportStore
    var idempotency: any IdempotencyStore
    /// Who an anonymous poster is (open mode): per process, or shared through Redis.
    var anonymousIdentity: AnonymousIdentity
    /// The Redis bus, when the deployment runs on one (it has connections to start and stop).
    var redis: RedisBus?

    /// One process: the embedded bus, or the archive when there is one.
    static func local(configuration: ServerConfiguration, archive: ArchivedLog?) -> Backend {
        Backend(
            bus: archive ?? MemoryBus(historyCapacity: configuration.logic.historyCapacity, retention: configuration.roomRetention),
            moderation: MemoryModeration(), presence: MemoryPresence(), replay: archive,
            likes: archive?.likes ?? MemoryLikes(), videos: archive?.videos ?? MemoryVideoPools(), reports: archive?.reports ?? MemoryReports(),
            // With an archive too, keys live in memory only (a restart forgets them).
            idempotency: MemoryIdempotency(), anonymousIdentity: .processLocal, redis: nil)
    }

    /// A cluster: every port on Redis.
    /// - Parameter card: how the node introduces itself beside its viewer counts (`danmaku status --bus`).
    static func redis(_ bus: RedisBus, configuration: ServerConfiguration, card: @escaping @Sendable () -> NodeCard?) -> Backend {
        Backend(
            bus: bus, moderation: RedisModeration(bus: bus),
            // Three missed reports and a node's viewers stop counting.
            presence: RedisPresence(
                bus: bus, nodeID: "\(configuration.push.nodeName)-\(UUID().uuidString)", lifetime: configuration.presenceInterval * 3,
                card: card),
            replay: RedisReplay(bus: bus), likes: RedisLikes(bus: bus), videos: RedisVideoPools(bus: bus),
            reports: RedisReports(bus: bus),
            idempotency: RedisIdempotency(bus: bus),
            // Every node names an address's anonymous author alike.
            anonymousIdentity: AnonymousIdentity(fetchSalt: { try await bus.anonymousSalt() }), redis: bus)
    }
}
