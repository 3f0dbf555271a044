// Danmaku — a live-stream bullet-comment service.

import DanmakuIngest
import DanmakuRedisBus
import Foundation

/// The text `danmaku status` prints: a line per node, the busiest rooms, and the cluster's nodes.
struct StatusReport {
    var interval: Double
    private var lines: [[String]] = []
    /// `GET /v1/rooms?top=N` of the first node.
    var rooms: [[String: Any]]?
    /// Node id → room → viewers, from Redis.
    var cluster: [String: [String: Int]]?

    init(interval: Double) {
        self.interval = interval
    }

    static let header = ["node", "viewers", "rooms", "conns", "accepted/s", "rejected/s", "deliveries/s", "frames/s", "window ms", "post p99 ms"]

    mutating func add(nodes: [String], earlier: [String: MetricsSample?], later: [String: MetricsSample?]) {
        for node in nodes {
            guard let now = later[node] ?? nil, let before = earlier[node] ?? nil else {
                lines.append([node, "not answering"])
                continue
            }
            func rate(_ name: String) -> String {
                guard let a = now[name] else { return "-" }
                return String(format: "%.1f", max(0, a - (before[name] ?? 0)) / interval)
            }
            func gauge(_ name: String, scale: Double = 1) -> String { now[name].map { String(format: "%.0f", $0 * scale) } ?? "-" }
            let p99 = now.quantile(0.99, of: "danmaku_post_duration_seconds", since: before).map { $0.isFinite ? String(format: "%.1f", $0 * 1000) : "> 5000" } ?? "-"
            lines.append([
                node, gauge("danmaku_viewers"), gauge("danmaku_rooms"), gauge("danmaku_connections"),
                rate("danmaku_comments_accepted_total"), rate("danmaku_comments_rejected_total"),
                rate("danmaku_deliveries_total"), rate("danmaku_frames_total"),
                gauge("danmaku_batch_window_seconds", scale: 1000), p99,
            ])
        }
    }

    /// Nodes that announce themselves in Redis without a URL to read them at.
    mutating func add(unreachable cards: [NodeCard]) {
        for card in cards {
            lines.append([card.name, "unreachable: \(card.unreachable ?? card.url.map { "not an http(s) URL: \($0)" } ?? "no URL")"])
        }
    }

    /// `text` without control characters (a name read from Redis must not drive the terminal),
    /// at most 200 characters.
    static func printable(_ text: String) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.filter { !$0.properties.generalCategory.isControlOrFormat }).prefix(200))
    }

    var text: String {
        var out = "Danmaku status at \(ISO8601DateFormatter().string(from: Date())) (rates over \(interval) s)\n"
        out += Self.table([Self.header] + lines)
        if let rooms {
            out += "\nbusiest rooms\n"
            out += Self.table([["room", "online", "comments/s", "last seq"]] + rooms.map { room in
                ["\(room["room"] ?? "?")", "\(room["online"] ?? 0)", String(format: "%.1f", (room["commentsPerSecond"] as? Double) ?? 0), "\(room["lastSeq"] ?? 0)"]
            })
        }
        if let cluster {
            out += "\ncluster nodes reporting viewers (from Redis)\n"
            out += Self.table([["node", "viewers", "rooms"]] + cluster.sorted { $0.key < $1.key }.map { node, rooms in
                [node, String(rooms.values.reduce(0) { $0.addingReportingOverflow($1).overflow ? Int.max : $0 + $1 }), String(rooms.count)]
            })
        }
        return out
    }

    /// Left-aligned first column, right-aligned numbers.
    static func table(_ rows: [[String]]) -> String {
        // Every cell, not only names: rooms and addresses come from nodes and Redis too.
        let rows = rows.map { $0.map(printable) }
        var widths: [Int] = []
        for row in rows { for (index, cell) in row.enumerated() { if index >= widths.count { widths.append(0) }; widths[index] = max(widths[index], cell.count) } }
        return rows.map { row in
            row.enumerated().map { index, cell in
                let pad = String(repeating: " ", count: widths[index] - cell.count)
                return index == 0 ? cell + pad : pad + cell
            }.joined(separator: "  ")
        }.joined(separator: "\n") + "\n"
    }
}

extension Unicode.GeneralCategory {
    /// Control (Cc) or format (Cf) characters: escapes, bidi overrides.
    var isControlOrFormat: Bool { self == .control || self == .format }
}
