// Danmaku — a live-stream bullet-comment service.

import DanmakuCore
import DanmakuRedis

/// Bans and room settings in Redis, so that every logic node enforces the same ones.
///
/// A ban is a key with the ban's lifetime; slow mode is a per-user key set with `NX` and the
/// room's slow-mode lifetime. `admit` checks both in one script: one round trip per post.
public final class RedisModeration: ModerationStore {
    private let bus: RedisBus

    public init(bus: RedisBus) {
        self.bus = bus
    }

    private static func banKey(_ room: RoomID, _ user: String) -> String { "danmaku:{\(room.value)}:ban:\(user)" }
    private static func settingsKey(_ room: RoomID) -> String { "danmaku:{\(room.value)}:settings" }
    private static func lastPostKey(_ room: RoomID, _ user: String) -> String { "danmaku:{\(room.value)}:last:\(user)" }

    public func ban(user: String, room: RoomID, seconds: Int) async throws {
        _ = try await bus.commands.send(RESPCommand("SET", [
            RESPArgument(Self.banKey(room, user)), "1", "EX", RESPArgument(seconds),
        ])) as RESPValue
    }

    public func unban(user: String, room: RoomID) async throws {
        _ = try await bus.commands.send(RESPCommand("DEL", [RESPArgument(Self.banKey(room, user))])) as RESPValue
    }

    public func settings(room: RoomID) async throws -> RoomSettings {
        let reply: RESPValue = try await bus.commands.send(RESPCommand("HGET", [RESPArgument(Self.settingsKey(room)), "slow"]))
        return RoomSettings(slowModeSeconds: Int(reply.integer ?? 0))
    }

    public func update(_ settings: RoomSettings, room: RoomID) async throws {
        _ = try await bus.commands.send(RESPCommand("HSET", [
            RESPArgument(Self.settingsKey(room)), "slow", RESPArgument(settings.slowModeSeconds),
        ])) as RESPValue
    }

    public func admit(user: String, room: RoomID) async throws -> DanmakuError? {
        let reply = try await bus.scripts.run(
            RedisScripts.admit, keys: [Self.banKey(room, user), Self.settingsKey(room), Self.lastPostKey(room, user)],
            arguments: [], on: bus.commands
        ).get()
        guard let parts = reply.array, parts.count == 2, let verdict = parts[0].string, let milliseconds = parts[1].integer else {
            throw RedisError.unexpectedReply("admit: \(reply)")
        }
        let seconds = max(1, Int((milliseconds + 999) / 1000))
        switch verdict {
        case "banned": return .banned(retryAfter: seconds)
        case "slow": return .slowMode(retryAfter: seconds)
        default: return nil
        }
    }
}
