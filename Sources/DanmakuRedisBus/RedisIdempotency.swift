// Danmaku — a live-stream bullet-comment service.

import DanmakuBus
import DanmakuCore
import DanmakuRedis
import NIOCore

/// Idempotency keys in Redis, shared by every logic node: one string per key, in the slot of the
/// room (or video) the post goes to (`danmaku:{SCOPE}:idem:LENGTH:PRINCIPAL:KEY`, the principal's
/// length in front so that no principal and key run into another pair), expiring after the window.
///
/// The value is `f` (in flight), `u` (outcome unknown) or `a` followed by the answer's body.
/// `SET NX GET` reserves a key and reads what holds it in one atomic command (Redis 7).
public final class RedisIdempotency: IdempotencyStore {
    private let bus: RedisBus

    public init(bus: RedisBus) {
        self.bus = bus
    }

    static func key(_ slot: IdempotencySlot) -> String {
        "danmaku:{\(slot.scope)}:idem:\(slot.principal.utf8.count):\(slot.principal):\(slot.key)"
    }

    /// The window in whole milliseconds, at least 1 (a `PX` of 0 is an error).
    private static func milliseconds(_ window: Duration) -> Int64 {
        max(1, Int64(saturating: window / .milliseconds(1)))
    }

    public func reserve(_ slot: IdempotencySlot, window: Duration) async throws -> IdempotencyRecord? {
        let key = Self.key(slot)
        let reply: RESPValue = try await bus.redis.send(
            RESPCommand("SET", [RESPArgument(key), "f", "NX", "GET", "PX", RESPArgument(Self.milliseconds(window))]), key: key)
        if reply.isNull { return nil }
        guard let value = reply.bytes else { throw RedisError.unexpectedReply("idempotency reserve: \(reply)") }
        return try Self.record(value)
    }

    public func settle(_ slot: IdempotencySlot, as record: IdempotencyRecord, window: Duration) async throws {
        let key = Self.key(slot)
        var value = ByteBuffer()
        switch record {
        case .inFlight: value.writeString("f")
        case .outcomeUnknown: value.writeString("u")
        case .answered(let body):
            value.writeString("a")
            value.writeBytes(body)
        }
        // XX: a key whose reservation expired meanwhile is not taken again by a late answer.
        _ = try await bus.redis.send(
            RESPCommand("SET", [RESPArgument(key), RESPArgument(bytes: value), "XX", "PX", RESPArgument(Self.milliseconds(window))]),
            key: key) as RESPValue
    }

    public func release(_ slot: IdempotencySlot) async throws {
        let key = Self.key(slot)
        _ = try await bus.redis.send(RESPCommand("DEL", [RESPArgument(key)]), key: key) as RESPValue
    }

    /// A stored value read back; anything else (written by another version, or by hand) is an
    /// error, and the post answers 503 rather than guess.
    private static func record(_ value: ByteBuffer) throws -> IdempotencyRecord {
        var value = value
        switch value.readString(length: min(1, value.readableBytes)) {
        case "f": return .inFlight
        case "u": return .outcomeUnknown
        case "a": return .answered(Array(value.readableBytesView))
        default: throw RedisError.unexpectedReply("idempotency record: \(String(buffer: value))")
        }
    }
}
