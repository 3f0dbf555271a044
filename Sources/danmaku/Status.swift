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
/// `/v1/rooms?top=N` twice an interval apart (rates are the difference), and, with `--bus`, every
/// node of a cluster as it reports itself to Redis (viewers per node and room). `--watch` repeats
/// it like `top`.
struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show what running nodes are doing: viewers, rooms, rates, the window in force.")

    @Option(help: "A node to ask (repeatable), e.g. http://127.0.0.1:7000.")
    var url: [String] = []

    @Option(help: "The cluster's Redis (redis://…): lists every node that reports viewers, whether or not --url names it.")
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
        let client = StatusClient(token: token)
        var previous = try await client.sample(url)
        repeat {
            try await Task.sleep(for: .seconds(interval))
            let current = try await client.sample(url)
            var report = StatusReport(interval: interval)
            report.add(nodes: url, earlier: previous, later: current)
            if let first = url.first { report.rooms = try? await client.topRooms(first, count: top) }
            if let bus { report.cluster = try await clusterReports(bus) }
            if watch { print("\u{1B}[2J\u{1B}[H", terminator: "") }
            print(report.text)
            previous = current
        } while watch
    }

    /// Every node's report of its viewers per room, from Redis.
    private func clusterReports(_ url: String) async throws -> [String: [String: Int]] {
        guard let address = RedisAddress(url: url) else { throw ValidationError("--bus must be a redis:// URL") }
        var logger = Logger(label: "danmaku-status")
        logger.logLevel = .error
        let bus = RedisBus(address: address, eventLoop: MultiThreadedEventLoopGroup.singleton.next(), historyCapacity: 1, logger: logger)
        bus.start()
        defer { Task { await bus.shutdown() } }
        try await bus.waitForConnection(timeout: .seconds(5))
        return try await RedisPresence(bus: bus, nodeID: "status", lifetime: .seconds(1)).reports()
    }
}

/// HTTP requests to the nodes.
struct StatusClient {
    var token: String?

    /// Each node's metrics (nil for a node that did not answer).
    func sample(_ urls: [String]) async throws -> [String: MetricsSample?] {
        var samples: [String: MetricsSample?] = [:]
        for url in urls { samples[url] = (try? await get(url + "/metrics")).map { MetricsSample(text: String(decoding: $0, as: UTF8.self)) } }
        return samples
    }

    func topRooms(_ url: String, count: Int) async throws -> [[String: Any]] {
        let data = try await get(url + "/v1/rooms?top=\(count)")
        return (try JSONSerialization.jsonObject(with: data) as? [String: Any])?["rooms"] as? [[String: Any]] ?? []
    }

    private func get(_ text: String) async throws -> Data {
        guard let url = URL(string: text) else { throw ValidationError("bad URL \(text)") }
        var request = URLRequest(url: url, timeoutInterval: 5)
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        let (data, response) = try await URLSession.shared.data(for: request)
        guard (response as? HTTPURLResponse)?.statusCode == 200 else { throw ValidationError("\(text): HTTP \((response as? HTTPURLResponse)?.statusCode ?? 0)") }
        return data
    }
}
