// Danmaku — a live-stream bullet-comment service.

import DanmakuBus
import DanmakuCore
import DanmakuRedis
import Foundation

/// Online counts across a cluster: each push node keeps its per-room viewer counts in one key of
/// its own that expires unless renewed, so a node that dies stops counting within `lifetime`.
///
/// Keys: `danmaku:{online}:nodes` (a set of node ids) and `danmaku:{online:ID}:node` (a JSON
/// object room → viewers, with a TTL). Each report has a hash tag of its own, so on a Redis
/// Cluster the reports (the bulk of presence traffic) spread over the slots; only the small set
/// of ids shares one. The report is one `SET`, so a reader never sees half of one.
public final class RedisPresence: PresenceStore {
    private let bus: RedisBus
    private let nodeID: String
    private let lifetime: Duration
    /// This node's card, renewed with every exchange (nil until the node listens).
    private let card: @Sendable () -> NodeCard?

    /// - Parameters:
    ///   - nodeID: unique per process (a restarted node reports afresh).
    ///   - lifetime: how long a report counts without renewal (a few report intervals).
    ///   - card: how the node introduces itself (`danmaku status --bus`); nil: it does not.
    public init(bus: RedisBus, nodeID: String, lifetime: Duration, card: @escaping @Sendable () -> NodeCard? = { nil }) {
        self.bus = bus
        self.nodeID = nodeID
        self.lifetime = lifetime
        self.card = card
    }

    /// A node's viewers in one room: at most its open files, far below this; with at most this
    /// many reports, sums stay far from `Int.max`.
    static let countRange = 0...100_000_000

    static let nodesKey = "danmaku:{online}:nodes"
    static func nodeKey(_ id: String) -> String { "danmaku:{online:\(id)}:node" }
    /// Every node's card, ingest and push alike: a separate set, as a node with no viewers has
    /// no count report (and the count set drops ids without one).
    static let cardsKey = "danmaku:{cards}:nodes"
    static func cardKey(_ id: String) -> String { "danmaku:{card:\(id)}:card" }

    public func exchange(local: [RoomID: Int]) async throws -> [RoomID: Int] {
        // The card is for `danmaku status`: a failure to write it (its slot's master down) must
        // not cost the viewer counts, which live in other slots.
        if let card = card() { try? await announce(card) }
        if !local.isEmpty {
            let report = Dictionary(uniqueKeysWithValues: local.map { ($0.key.value, $0.value) })
            let json = try JSONEncoder().encode(report)
            let milliseconds = Int(saturating: lifetime / .milliseconds(1))
            let key = Self.nodeKey(nodeID)
            _ = try await bus.redis.send(RESPCommand("SET", [
                RESPArgument(key), RESPArgument(String(decoding: json, as: UTF8.self)), "PX", RESPArgument(milliseconds),
            ]), key: key) as RESPValue
            _ = try await bus.redis.send(RESPCommand("SADD", [RESPArgument(Self.nodesKey), RESPArgument(nodeID)]), key: Self.nodesKey) as RESPValue
        }
        let (reports, gone) = try await readReports()
        var totals: [RoomID: Int] = [:]
        for counts in reports.values {
            for (name, count) in counts {
                // Each count is bounded as it is read (`readReports`), so the sum over nodes is too.
                if let room = RoomID(name) { totals[room, default: 0] += count }
            }
        }
        if !gone.isEmpty {
            _ = try? await bus.redis.send(RESPCommand("SREM", [RESPArgument(Self.nodesKey)] + gone.map { RESPArgument($0) }), key: Self.nodesKey) as RESPValue
        }
        return totals
    }

    /// Every node's current report: node id → room → viewers (for `danmaku status`).
    public func reports() async throws -> [String: [String: Int]] {
        try await readReports().reports
    }

    /// The reports of the nodes in the id set, and the ids whose report expired (the node
    /// stopped reporting).
    private func readReports() async throws -> (reports: [String: [String: Int]], gone: [String]) {
        let members: RESPValue = try await bus.redis.send(RESPCommand("SMEMBERS", [RESPArgument(Self.nodesKey)]), key: Self.nodesKey)
        let ids = (members.array ?? []).compactMap(\.string)
        guard !ids.isEmpty else { return ([:], []) }
        let values = try await bus.redis.mget(ids.map(Self.nodeKey)).get()
        var reports: [String: [String: Int]] = [:]
        var gone: [String] = []
        for (id, value) in zip(ids, values) {
            if let text = value.string, let counts = try? JSONDecoder().decode([String: Int].self, from: Data(text.utf8)) {
                // What Redis says is range-checked where it enters: a count out of range (written by
                // something other than a node) counts for nothing, so that sums cannot overflow.
                reports[id] = counts.filter { Self.countRange.contains($0.value) }
            } else {
                gone.append(id)
            }
        }
        return (reports, gone)
    }

    /// Renews this node's card for `lifetime`.
    private func announce(_ card: NodeCard) async throws {
        let key = Self.cardKey(nodeID)
        let json = String(decoding: try JSONEncoder().encode(card), as: UTF8.self)
        let milliseconds = Int(saturating: lifetime / .milliseconds(1))
        _ = try await bus.redis.send(RESPCommand("SET", [RESPArgument(key), RESPArgument(json), "PX", RESPArgument(milliseconds)]), key: key) as RESPValue
        _ = try await bus.redis.send(RESPCommand("SADD", [RESPArgument(Self.cardsKey), RESPArgument(nodeID)]), key: Self.cardsKey) as RESPValue
    }

    /// The cards of the nodes running now (ids whose card expired are dropped from the set).
    public func cards() async throws -> [NodeCard] {
        let members: RESPValue = try await bus.redis.send(RESPCommand("SMEMBERS", [RESPArgument(Self.cardsKey)]), key: Self.cardsKey)
        let ids = (members.array ?? []).compactMap(\.string)
        guard !ids.isEmpty else { return [] }
        let values = try await bus.redis.mget(ids.map(Self.cardKey)).get()
        var cards: [NodeCard] = []
        var gone: [String] = []
        for (id, value) in zip(ids, values) {
            if let text = value.string, let card = try? JSONDecoder().decode(NodeCard.self, from: Data(text.utf8)) {
                cards.append(card)
            } else {
                gone.append(id)
            }
        }
        if !gone.isEmpty {
            _ = try? await bus.redis.send(RESPCommand("SREM", [RESPArgument(Self.cardsKey)] + gone.map { RESPArgument($0) }), key: Self.cardsKey) as RESPValue
        }
        return cards.sorted { ($0.name, $0.url ?? "") < ($1.name, $1.url ?? "") }
    }

    public func withdraw() async {
        _ = try? await bus.redis.send(RESPCommand("DEL", [RESPArgument(Self.cardKey(nodeID))]), key: Self.cardKey(nodeID)) as RESPValue
        _ = try? await bus.redis.send(RESPCommand("SREM", [RESPArgument(Self.cardsKey), RESPArgument(nodeID)]), key: Self.cardsKey) as RESPValue
        _ = try? await bus.redis.send(RESPCommand("DEL", [RESPArgument(Self.nodeKey(nodeID))]), key: Self.nodeKey(nodeID)) as RESPValue
        _ = try? await bus.redis.send(RESPCommand("SREM", [RESPArgument(Self.nodesKey), RESPArgument(nodeID)]), key: Self.nodesKey) as RESPValue
    }
}
