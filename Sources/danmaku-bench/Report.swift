// Danmaku — a live-stream bullet-comment service.

import DanmakuBench
import Foundation
import Histogram

/// The result of one run, as printed and as written with `--json`.
struct Report: Codable {
    var scenario: String
    var url: String
    var batchWindowMs: Int?
    var compression = false
    var rooms: Int
    var viewersPerRoom: Int
    /// Nil: posted as fast as the server answered (the `posts` scenario).
    var offeredCommentsPerSecond: Double?
    var publisherConnections = 0
    var inFlightPerPublisher = 0
    /// Server CPU per accepted post while measuring (everything the server did, divided by its posts).
    var serverMicrosecondsPerPost: Double?
    var durationSeconds: Double
    var connectionsOK: Int
    var connectionsFailed: Int
    var connectionsClosedEarly: Int
    var connectSeconds: Double
    var commentsPosted: Int
    var commentsAccepted: Int
    var commentsRejected: [String: Int]
    /// Posts answered 201 per second while measuring: what the publishers actually got.
    var acceptedPerSecond: Double?
    /// Round trip of a post (request written → answer read), microseconds, while measuring.
    var postLatencyMicroseconds: [String: UInt64] = [:]
    /// This bench process's CPU while measuring, percent of one core, and the cores it may use.
    var benchCPUPercent: Double?
    var benchCores: Int?
    var deliveriesPerSecond: Double
    var framesPerSecond: Double
    var bytesPerSecond: Double
    var latencyMicroseconds: [String: UInt64]
    var latencySamples: UInt64
    var verifiedViewers: Int
    var missing: UInt64
    /// Comments the server's display budget held back, as its batches said (not lost).
    var shed: UInt64 = 0
    /// Seqs viewers got as part of another comment (merged repeats), as the batches said.
    var merged: UInt64 = 0
    var duplicated: UInt64
    /// Comments viewers received after the warm-up (each seq once per viewer).
    var deliveries: UInt64 = 0
    /// The latency histogram's recorded values as `[microseconds, count]` pairs, so that several
    /// benches' latencies can be merged.
    var latencyRecorded: [[UInt64]] = []
    /// Where each room ended: the highest seq posted (a posting bench) or the server's `lastSeq`
    /// (a bench that only watches), which every viewer must reach.
    var roomLastSeqs: [String: UInt64] = [:]
    /// Rooms a watching bench could not learn the end of from the server (their viewers unchecked at the end).
    var roomsWithoutLastSeq = 0
    /// `--reconnect`: viewers whose socket closed and who set out to come back, those that did,
    /// failed attempts, comebacks into a new numbering, viewers still away when the run ended, and
    /// when the last one came back (µs since 1970).
    var dropped: Int?
    var rejoined: Int?
    var reconnectAttemptsFailed: Int?
    var epochRestarts: Int?
    var awayAtEnd: Int?
    var lastRejoinUnixMicroseconds: Int?
    /// This bench's RSS before its viewers connected, and once they had joined.
    var benchRSSBytesIdle: Int?
    var benchRSSBytesConnected: Int?
    var serverRSSBytes: Int?
    var serverRSSBytesIdleBefore: Int?
    var serverCPUPercent: Double?
    var serverRSSPerConnectionBytes: Double?
    var serverOpenFiles: Int?
    var serverRSSPeakBytes: Int?
    var slowViewers = 0
    var slowViewersJoined = 0
    var serverSlowConsumerCloses: Int?
    /// Bus messages the posting node published per second while measuring (Redis mode).
    var busMessagesPerSecond: Double?
    /// Bench processes whose viewers this report adds up (`--procs`; nil: this one alone).
    var processes: Int?
    var churnedConnections = 0
    /// Server RSS and open files over time (soak runs).
    var samples: [Sample] = []

    struct Sample: Codable {
        var second: Int
        var rssBytes: Int
        var openFiles: Int
    }

    /// Whether the bench itself ran out of CPU while measuring (≥ 90 % of the cores it may use):
    /// its latency and any slow-consumer closes are then partly its own.
    var benchSaturated: Bool {
        guard let cpu = benchCPUPercent, let cores = benchCores else { return false }
        return cpu >= 90 * Double(cores)
    }

    var passed: Bool {
        missing == 0 && duplicated == 0 && connectionsFailed == 0 && connectionsClosedEarly == 0 && roomsWithoutLastSeq == 0
            && (awayAtEnd ?? 0) == 0 && (epochRestarts ?? 0) == 0
    }

    static func latency(_ histogram: Histogram<UInt64>) -> [String: UInt64] {
        guard histogram.totalCount > 0 else { return [:] }
        return [
            "p50": histogram.valueAtPercentile(50), "p90": histogram.valueAtPercentile(90),
            "p99": histogram.valueAtPercentile(99), "p99.9": histogram.valueAtPercentile(99.9), "max": histogram.max,
        ]
    }

    func printTable() {
        func rate(_ value: Double) -> String {
            value >= 1e6 ? String(format: "%.2fM", value / 1e6) : value >= 1e3 ? String(format: "%.1fk", value / 1e3) : String(format: "%.0f", value)
        }
        func ms(_ key: String) -> String {
            latencyMicroseconds[key].map { String(format: "%.2f ms", Double($0) / 1000) } ?? "-"
        }
        let offered = offeredCommentsPerSecond.map { rate($0) + " comments/s" }
            ?? "posts as fast as answered (\(publisherConnections) connections × \(inFlightPerPublisher) in flight)"
        let rows: [(String, String)] = [
            ("scenario", "\(scenario): \(rooms) room(s) × \(viewersPerRoom) viewers, \(offered), window \(batchWindowMs.map { "\($0) ms" } ?? "server's")"
                + (processes.map { ", viewers in \($0) bench processes" } ?? "")),
            ("server", url),
            ("connections", "\(connectionsOK) ok, \(connectionsFailed) failed, \(connectionsClosedEarly) closed early; connected in \(String(format: "%.1f", connectSeconds)) s"),
            ("comments", "\(commentsPosted) posted, \(commentsAccepted) accepted, rejected \(commentsRejected.isEmpty ? "0" : commentsRejected.map { "\($0.key): \($0.value)" }.joined(separator: ", "))"),
            ("accepted/s", acceptedPerSecond.map { rate($0) + (offeredCommentsPerSecond.map { " of \(rate($0)) offered" } ?? "") } ?? "-"),
            ("server µs/post", serverMicrosecondsPerPost.map { String(format: "%.1f µs of server CPU per accepted post", $0) } ?? "-"),
            ("post latency", postLatencyMicroseconds.isEmpty ? "-" : ["p50", "p99", "max"].map { key in "\(key) " + (postLatencyMicroseconds[key].map { String(format: "%.2f ms", Double($0) / 1000) } ?? "-") }.joined(separator: "  ")),
            ("deliveries/s", rate(deliveriesPerSecond)),
            ("frames/s", rate(framesPerSecond)),
            ("bus messages/s", busMessagesPerSecond.map { rate($0) + " (published by the posting node)" } ?? "-"),
            ("bytes/s", rate(bytesPerSecond) + "B" + (compression ? " (permessage-deflate, on the wire)" : "")
                + (deliveriesPerSecond > 0 ? String(format: ", %.0f B per delivered comment", bytesPerSecond / deliveriesPerSecond) : "")),
            ("latency", "p50 \(ms("p50"))  p90 \(ms("p90"))  p99 \(ms("p99"))  p99.9 \(ms("p99.9"))  max \(ms("max"))  (\(latencySamples) samples from \(verifiedViewers) fully verified viewers)"),
            ("correctness", "lost (missing) \(missing), duplicated/out of order \(duplicated)"),
            ("shed", shed == 0 ? "none" : "\(shed) held back by the display budget (announced in batches, not lost)"),
            ("merged", merged == 0 ? "none" : "\(merged) sent as part of a repeated comment (announced in batches, not lost)"),
            ("server RSS", serverRSSBytes.map { String(format: "%.1f MiB", Double($0) / 1_048_576) } ?? "-"),
            ("server RSS peak", serverRSSPeakBytes.map { String(format: "%.1f MiB (sampled each second while measuring)", Double($0) / 1_048_576) } ?? "-"),
            ("slow viewers", slowViewers == 0 ? "none" : "\(slowViewersJoined) of \(slowViewers) joined and stopped reading; server closed \(serverSlowConsumerCloses.map(String.init) ?? "?") as slow consumers"),
            ("churn", churnedConnections == 0 ? "none" : "\(churnedConnections) viewers replaced while measuring"),
            ("reconnects", dropped.map { "\($0) dropped, \(rejoined ?? 0) back (\(reconnectAttemptsFailed ?? 0) attempts failed), \(awayAtEnd ?? 0) still away at the end, \(epochRestarts ?? 0) into a new numbering" } ?? "-"),
            ("samples", samples.isEmpty ? "-" : samples.map { "t=\($0.second)s \($0.rssBytes / 1_048_576) MiB \($0.openFiles) fds" }.joined(separator: "; ")),
            ("server CPU", serverCPUPercent.map { String(format: "%.0f %% of one core", $0) } ?? "-"),
            ("bench CPU", benchCPUPercent.map { String(format: "%.0f %% of one core, %d core(s) allowed", $0, benchCores ?? 0) + (benchSaturated ? " — SATURATED: latency and closes are partly the bench's" : "") } ?? "-"),
            ("RSS/connection", serverRSSPerConnectionBytes.map { String(format: "%.2f KiB", $0 / 1024) } ?? "-"),
        ]
        for (name, value) in rows {
            print(name.padding(toLength: 16, withPad: " ", startingAt: 0) + value)
        }
        print(passed ? "result          PASS" : "result          FAIL: comments missing or duplicated, connections lost, or rooms' ends unknown")
    }
}
