// Danmaku — a live-stream bullet-comment service.

import ArgumentParser
import DanmakuIngest
import DanmakuRedis
import DanmakuRedisBus
import Foundation
import Logging
import NIOPosix
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `danmaku status`: what running nodes are doing, read from their `/metrics` and
/// `/v1/rooms?top=N` twice an interval apart (rates are the difference). With `--bus`, every node
/// that announces itself in Redis is read the same way, at the URL it announces (a node that has
/// none is listed as unreachable, with the reason), and the viewers per node come from Redis.
/// `--watch` repeats it like `top`.
struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show what running nodes are doing: viewers, rooms, rates, the window in force.")

    @Option(help: "A node to ask (repeatable), e.g. http://127.0.0.1:7000.")
    var url: [String] = []

    @Option(help: "The cluster's Redis (redis://…): reads every node that announces itself there, whether or not --url names it.")
    var bus: String?

    @Option(help: "A token sent with every request (default: $DANMAKU_TOKEN).")
    var token: String?

    @Option(help: "Seconds between the two samples rates are measured over.")
    var interval = 2.0

    @Option(help: "Rooms to list.")
    var top = 5

    @Flag(help: "Refresh every interval until interrupted.")
    var watch = false

    func validate() throws {
        guard !url.isEmpty || bus != nil else { throw ValidationError("give at least one --url or a --bus") }
        guard interval >= 0.2, interval <= 3600 else { throw ValidationError("--interval must be 0.2...3600") }
        guard (1...100).contains(top) else { throw ValidationError("--top must be 1...100") }
        for text in url where URL(string: text)?.host == nil { throw ValidationError("bad --url \(text)") }
    }

    func run() async throws {
        let token = token ?? ProcessInfo.processInfo.environment["DANMAKU_TOKEN"]
        // The token goes only to the nodes named on the command line: a URL read from Redis is
        // whatever whoever can write there put, and what status reads (/metrics, /v1/rooms) is
        // open anyway.
        let client = StatusClient(token: token, trusted: Set(url))
        let directory = if let bus { try await ClusterDirectory.connect(bus) } else { nil as ClusterDirectory? }
        do {
            try await report(client: client, directory: directory)
        } catch {
            await directory?.close()
            throw error
        }
        await directory?.close()
    }

    /// Samples every node twice, `interval` apart, and prints what they did; again and again with `--watch`.
    private func report(client: StatusClient, directory: ClusterDirectory?) async throws {
        var previous: [String: MetricsSample?] = [:]
        repeat {
            // The nodes named, then every node that announces itself in Redis.
            var nodes = url
            var unreachable: [NodeCard] = []
            for card in try await directory?.presence.cards() ?? [] {
                if let address = card.url, NodeCard.isBaseURL(address) {
                    if !nodes.contains(address) { nodes.append(address) }
                } else {
                    unreachable.append(card)
                }
            }
            // A node new to this round is sampled now, so that it has a rate too.
            let unsampled = nodes.filter { previous[$0] == nil }
            previous.merge(try await client.sample(unsampled)) { _, new in new }
            try await Task.sleep(for: .seconds(interval))
            let current = try await client.sample(nodes)
            var report = StatusReport(interval: interval)
            report.add(nodes: nodes, earlier: previous, later: current)
            report.add(unreachable: unreachable)
            if let first = nodes.first(where: { (current[$0] ?? nil) != nil }) { report.rooms = try? await client.topRooms(first, count: top) }
            if let directory { report.cluster = try await directory.presence.reports() }
            if watch { print("\u{1B}[2J\u{1B}[H", terminator: "") }
            print(report.text)
            previous = current
        } while watch
    }
}

/// The cluster's Redis, read for the nodes' cards and viewer counts.
struct ClusterDirectory {
    let bus: RedisBus
    let presence: RedisPresence

    static func connect(_ url: String) async throws -> ClusterDirectory {
        guard let address = RedisAddress(url: url) else { throw ValidationError("--bus must be a redis:// URL") }
        var logger = Logger(label: "danmaku-status")
        logger.logLevel = .error
        let bus = RedisBus(address: address, eventLoop: MultiThreadedEventLoopGroup.singleton.next(), historyCapacity: 1, logger: logger)
        bus.start()
        do {
            try await bus.waitForConnection(timeout: .seconds(5))
        } catch {
            await bus.shutdown()
            throw error
        }
        return ClusterDirectory(bus: bus, presence: RedisPresence(bus: bus, nodeID: "status", lifetime: .seconds(1)))
    }

    func close() async {
        await bus.shutdown()
    }
}

/// HTTP requests to the nodes.
struct StatusClient {
    var token: String?
    /// The URLs the token may be sent to.
    var trusted: Set<String> = []
    /// The most one answer may bring: a node's /metrics is tens of KiB.
    static let maxAnswerBytes = 16 << 20

    /// Each node's metrics (nil for a node that did not answer).
    func sample(_ urls: [String]) async throws -> [String: MetricsSample?] {
        var samples: [String: MetricsSample?] = [:]
        for url in urls {
            samples[url] = (try? await get(url + "/metrics", authorized: trusted.contains(url))).map { MetricsSample(text: String(decoding: $0, as: UTF8.self)) }
        }
        return samples
    }

    func topRooms(_ url: String, count: Int) async throws -> [[String: Any]] {
        let data = try await get(url + "/v1/rooms?top=\(count)", authorized: trusted.contains(url))
        return (try JSONSerialization.jsonObject(with: data) as? [String: Any])?["rooms"] as? [[String: Any]] ?? []
    }

    private func get(_ text: String, authorized: Bool) async throws -> Data {
        guard let url = URL(string: text) else { throw ValidationError("bad URL \(text)") }
        var request = URLRequest(url: url, timeoutInterval: 5)
        if authorized, let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        let (data, response) = try await URLSession.shared.data(for: request)
        guard data.count <= Self.maxAnswerBytes else { throw ValidationError("\(text): answer over \(Self.maxAnswerBytes) bytes") }
        guard (response as? HTTPURLResponse)?.statusCode == 200 else { throw ValidationError("\(text): HTTP \((response as? HTTPURLResponse)?.statusCode ?? 0)") }
        return data
    }
}
