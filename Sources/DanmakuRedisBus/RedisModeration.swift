// Danmaku — a live-stream bullet-comment service.

import DanmakuBus
import DanmakuCore
import DanmakuRedis
import NIOCore

/// Bans and room settings in Redis, so that every logic node enforces the same ones.
///
/// A ban is a key with the ban's lifetime; slow mode is a per-user key set with `NX` and the
/// room's slow-mode lifetime. `admit` checks both in one script: one round trip per post.
public final class RedisModeration: ModerationStore {
    private let bus: RedisBus

    public init(bus: RedisBus) {
        self.bus = bus
    }

    private static func banKey(_ room: RoomID, _ user: String) -> String { RedisKeys.ban(room, user: user) }
    private static func settingsKey(_ room: RoomID) -> String { RedisKeys.settings(room) }
    private static func lastPostKey(_ room: RoomID, _ user: String) -> String { RedisKeys.lastPost(room, user: user) }
    private static func bucketKey(_ room: RoomID) -> String { RedisKeys.bucket(room) }

    public func ban(user: String, room: RoomID, seconds: Int) async throws {
        let key = Self.banKey(room, user)
        let seconds = min(max(seconds, BanLength.secondsRange.lowerBound), BanLength.secondsRange.upperBound)
        _ = try await bus.redis.send(RESPCommand("SET", [RESPArgument(key), "1", "EX", RESPArgument(seconds)]), key: key) as RESPValue
    }

    public func ban(of user: String, room: RoomID) async throws -> DanmakuError? {
        let key = Self.banKey(room, user)
        let reply: RESPValue = try await bus.redis.send(RESPCommand("PTTL", [RESPArgument(key)]), key: key)
        // -2: no ban; -1: a ban without expiry (written by hand), held to the longest wait.
        guard let milliseconds = reply.integer, milliseconds != -2 else { return nil }
        let left = milliseconds < 0 ? Double(RetryAfter.maxSeconds) : Double(milliseconds) / 1000
        return .banned(retryAfter: RetryAfter.seconds(left))
    }

    public func unban(user: String, room: RoomID) async throws {
        let key = Self.banKey(room, user)
        _ = try await bus.redis.send(RESPCommand("DEL", [RESPArgument(key)]), key: key) as RESPValue
    }

    /// The room's settings as the hash holds them. Every value is checked as it is read, as a
    /// request's would be: one out of range (written by another version, or by hand) counts as unset,
    /// and a slow mode is clamped to its bounds.
    public func settings(room: RoomID) async throws -> RoomSettings {
        let key = Self.settingsKey(room)
        let reply: RESPValue = try await bus.redis.send(RESPCommand("HMGET", [RESPArgument(key), "slow", "rate", "burst", "display", "styles", "merge", "hide"]), key: key)
        guard let values = reply.array, values.count == 7 else { throw RedisError.unexpectedReply("settings: \(reply)") }
        let rate = values[1].string.flatMap(Double.init).flatMap { perSecond in
            values[2].string.flatMap(Double.init).flatMap { RateLimit(checkedPerSecond: perSecond, burst: $0) }
        }.flatMap { RoomSettings.roomRate($0) }
        let display = values[3].integer.flatMap { Int(exactly: $0) }.flatMap { (1...RoomSettings.maxDisplayPerSecond).contains($0) ? $0 : nil }
        let slow = min(max(Int(clamping: values[0].integer ?? 0), 0), RoomSettings.maxSlowModeSeconds)
        let styles = values[4].string.flatMap(RoomSettings.StyleAccess.init(rawValue:)) ?? .everyone
        // "" for a room whose settings leave it to the node.
        let merge = values[5].string.flatMap { $0.isEmpty ? nil : $0 == "1" }
        let hide = values[6].integer.flatMap { Int(exactly: $0) }.flatMap { RoomSettings.reportsToHideRange.contains($0) ? $0 : nil } ?? 0
        return RoomSettings(
            slowModeSeconds: slow, rate: rate?.description, displayPerSecond: display, stylesFor: styles, mergeRepeats: merge, reportsToHide: hide)
    }

    /// Writes only the fields `change` names (so concurrent updates of different fields both
    /// hold), then reads the settings back.
    public func update(_ change: RoomSettings.Change, room: RoomID) async throws -> RoomSettings {
        let key = Self.settingsKey(room)
        var fields: [RESPArgument] = []
        if let slow = change.slowModeSeconds { fields += ["slow", RESPArgument(slow)] }
        if let rate = change.rate {
            // "0" is no rate: the script and `settings` read it as none.
            fields += ["rate", RESPArgument(rate.map { String($0.perSecond) } ?? "0"), "burst", RESPArgument(rate.map { String($0.burst) } ?? "0")]
        }
        if let display = change.displayPerSecond { fields += ["display", RESPArgument(display ?? 0)] }
        if let styles = change.stylesFor { fields += ["styles", RESPArgument(styles.rawValue)] }
        if let merge = change.mergeRepeats { fields += ["merge", RESPArgument(merge.map { $0 ? "1" : "0" } ?? "")] }
        if let hide = change.reportsToHide { fields += ["hide", RESPArgument(hide)] }
        if !fields.isEmpty {
            _ = try await bus.redis.send(RESPCommand("HSET", [RESPArgument(key)] + fields), key: key) as RESPValue
        }
        if change.rate != nil {
            // A new rate starts with a full bucket.
            _ = try await bus.redis.send(RESPCommand("DEL", [RESPArgument(Self.bucketKey(room))]), key: Self.bucketKey(room)) as RESPValue
        }
        return try await settings(room: room)
    }

    public func refund(user: String, room: RoomID) async {
        // Best effort: Redis failing now is likely why the post failed; the marks then expire
        // on their own (slow mode within its seconds, the bucket within a refill).
        _ = try? await bus.scripts.run(
            RedisScripts.refund, keys: [Self.settingsKey(room), Self.lastPostKey(room, user), Self.bucketKey(room)],
            arguments: [], on: bus.redis
        ).get()
    }

    public func admit(user: String, room: RoomID, styled: Bool) async throws -> DanmakuError? {
        let reply = try await bus.scripts.run(
            RedisScripts.admit, keys: RedisKeys.admission(room, user: user), arguments: [styled ? "1" : "0"], on: bus.redis
        ).get()
        switch try AdmissionVerdict(reply) {
        case .admitted: return nil
        case .refused(let refusal): return refusal
        }
    }
}

extension RedisModeration: AppendingModeration {
    public func isKept(with log: any CommentLog) -> Bool {
        (log as? RedisBus) === bus
    }

    public func admitAndAppend(user: String, room: RoomID, styled: Bool, unnumbered: ByteBuffer) async throws -> Result<EncodedComment, DanmakuError> {
        try await bus.admitAndAppend(room: room, unnumbered: unnumbered, user: user, styled: styled)
    }
}

extension RedisModeration: LoopAppendingModeration {
    public var appendsInOneCall: Bool { !bus.replicas.isOn }

    public func admitAndAppendOnLoop(user: String, room: RoomID, styled: Bool, unnumbered: ByteBuffer) -> EventLoopFuture<Result<EncodedComment, DanmakuError>> {
        bus.admitAndAppendInOneCall(room: room, unnumbered: unnumbered, user: user, styled: styled)
    }
}

/// What `RedisScripts.admit` answers (`{verdict, ms}`), and `admitAndAppend` when it refuses.
enum AdmissionVerdict {
    case admitted(Int64)
    case refused(DanmakuError)

    /// Reads `{'ok', value}` or a refusal with its wait in ms; throws on anything else.
    init(_ reply: RESPValue) throws {
        guard let parts = reply.array, parts.count == 2, let verdict = parts[0].string, let value = parts[1].integer else {
            throw RedisError.unexpectedReply("admit: \(reply)")
        }
        let seconds = RetryAfter.seconds(milliseconds: value)
        switch verdict {
        case "ok": self = .admitted(value)
        case "banned": self = .refused(.banned(retryAfter: seconds))
        case "style": self = .refused(.styleNotAllowed)
        case "slow": self = .refused(.slowMode(retryAfter: seconds))
        case "rate": self = .refused(.rateLimited(scope: "room", retryAfter: seconds))
        default: throw RedisError.unexpectedReply("admit: \(reply)")
        }
    }
}
