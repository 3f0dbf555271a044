// Danmaku — a live-stream bullet-comment service.

import DanmakuBus
import DanmakuCore
import DanmakuLogic
/// The schemas of what operators read: the health and readiness answers, and the dashboard's figures.
enum OperatorSchemas {
    /// The named schemas of this area, in the order the document lists them.
    static let named: [(name: String, schema: JSONSchema)] = [
        ("Status", status),
        ("AdminStats", adminStats),
    ]

    // MARK: Health

    /// `/healthz` answers `ok`, `/readyz` `ready` (a node not ready answers `503 not_ready` instead).
    private static let status: JSONSchema = .object([("status", .enumeration(["ok", "ready"]))], required: ["status"])

    // MARK: Dashboard

    /// A metric's series (`name` or `name{label="value"}`) and its value; histogram buckets are
    /// left out, their `_count` and `_sum` kept.
    private static let metrics: JSONSchema = .map(.number())

    /// `AdminAPI.Stats`. Each room's `slowModeSeconds` is left out when its settings could not be
    /// read, `rate` and `displayPerSecond` also when unset. `history` is there only with
    /// `?since=`: the node's samples after it, oldest first, one a second for at most 15 minutes
    /// (`StatsHistory.defaultCapacity`).
    private static let adminStats: JSONSchema = .object(
        [
            ("node", .string()),
            ("at", FieldSchemas.milliseconds),
            ("metrics", metrics),
            (
                "rooms",
                .array(
                    .object(
                        [
                            ("room", FieldSchemas.roomID),
                            ("online", .integer(minimum: 0)),
                            ("lastSeq", FieldSchemas.lastSeq),
                            ("commentsPerSecond", .number(minimum: 0)),
                            ("slowModeSeconds", FieldSchemas.slowModeSeconds),
                            ("rate", FieldSchemas.writtenRate),
                            ("displayPerSecond", FieldSchemas.displayPerSecond),
                        ], required: ["room", "online", "lastSeq", "commentsPerSecond"]),
                    maxItems: AdminAPI.topRooms)
            ),
            (
                "nodes",
                .array(
                    .object(
                        [("node", .string()), ("viewers", .integer(minimum: 0)), ("rooms", .integer(minimum: 0))],
                        required: ["node", "viewers", "rooms"]))
            ),
            (
                "history",
                .array(
                    .object([("at", FieldSchemas.milliseconds), ("metrics", metrics)], required: ["at", "metrics"]),
                    maxItems: StatsHistory.defaultCapacity)
            ),
        ], required: ["node", "at", "metrics", "rooms", "nodes"])
}
