// Danmaku — a live-stream bullet-comment service.

import DanmakuBus
import DanmakuCore
import DanmakuRedis
import Foundation

/// Online counts across a cluster: each push node keeps its per-room viewer counts in one key of
/// its own that expires unless renewed, so a node that dies stops counting within `lifetime`.
///
/// Keys (one hash tag, so one slot): `danmaku:{online}:nodes` (a set of node ids) and
/// `danmaku:{online}:node:ID` (a JSON object room → viewers, with a TTL). The report is one `SET`,
/// so a reader never sees half of one.
public final class RedisPresence: PresenceStore {
    private let bus: RedisBus
    private let nodeID: String
    private let lifetime: Duration

    /// - Parameters:
    ///   - nodeID: unique per process (a restarted node reports afresh).
    ///   - lifetime: how long a report counts without renewal (a few report intervals).
    public init(bus: RedisBus, nodeID: String, lifetime: Duration) {
        self.bus = bus
        self.nodeID = nodeID
        self.lifetime = lifetime
    }

    static let nodesKey = "danmaku:{online}:nodes"
    static func nodeKey(_ id: String) -> String { "danmaku:{online}:node:\(id)" }

    public func exchange(local: [RoomID: Int]) async throws -> [RoomID: Int] {
        if !local.isEmpty {
            let report = Dictionary(uniqueKeysWithValues: local.map { ($0.key.value, $0.value) })
            let json = try JSONEncoder().encode(report)
            let milliseconds = Int(lifetime / .milliseconds(1))
            _ = try await bus.commands.send(RESPCommand("SET", [
                RESPArgument(Self.nodeKey(nodeID)), RESPArgument(String(decoding: json, as: UTF8.self)), "PX", RESPArgument(milliseconds),
            ])) as RESPValue
            _ = try await bus.commands.send(RESPCommand("SADD", [RESPArgument(Self.nodesKey), RESPArgument(nodeID)])) as RESPValue
        }
        let members: RESPValue = try await bus.commands.send(RESPCommand("SMEMBERS", [RESPArgument(Self.nodesKey)]))
        let ids = (members.array ?? []).compactMap(\.string)
        guard !ids.isEmpty else { return [:] }
        let reply: RESPValue = try await bus.commands.send(RESPCommand("MGET", ids.map { RESPArgument(Self.nodeKey($0)) }))
        let reports = reply.array ?? []
        var totals: [RoomID: Int] = [:]
        var gone: [String] = []
        for (id, report) in zip(ids, reports) {
            guard let bytes = report.string, let counts = try? JSONDecoder().decode([String: Int].self, from: Data(bytes.utf8)) else {
                gone.append(id)  // expired: the node stopped reporting
                continue
            }
            for (name, count) in counts {
                if let room = RoomID(name) { totals[room, default: 0] += count }
            }
        }
        if !gone.isEmpty {
            _ = try? await bus.commands.send(RESPCommand("SREM", [RESPArgument(Self.nodesKey)] + gone.map { RESPArgument($0) })) as RESPValue
        }
        return totals
    }

    public func withdraw() async {
        _ = try? await bus.commands.send(RESPCommand("DEL", [RESPArgument(Self.nodeKey(nodeID))])) as RESPValue
        _ = try? await bus.commands.send(RESPCommand("SREM", [RESPArgument(Self.nodesKey), RESPArgument(nodeID)])) as RESPValue
    }
}
