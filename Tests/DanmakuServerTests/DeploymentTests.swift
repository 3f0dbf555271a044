import DanmakuCore
import DanmakuIngest
@testable import DanmakuServer
import DanmakuTestSupport
import Foundation
import Testing

/// Safe defaults for a node exposed beyond this machine: no anonymous posting by accident, and
/// client addresses from the operator's proxies only.
@Suite struct DeploymentTests {
    /// Runs `danmaku serve ARGUMENTS` to its exit and returns the status and what it printed on stderr.
    func refusal(_ arguments: [String]) async throws -> (status: Int32, message: String) {
        let process = Process()
        process.executableURL = DanmakuNode.executable
        process.arguments = ["serve", "--port", "0"] + arguments
        process.environment = ProcessInfo.processInfo.environment.filter { $0.key != "DANMAKU_JWT_SECRET" }
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let status = try await DanmakuNode.waitForExit(process, timeout: .seconds(30))
        return (status, String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
    }

    @Test func aNonLoopbackNodeWithoutASecretRefusesToStart() async throws {
        let refused = try await refusal(["--host", "0.0.0.0"])
        #expect(refused.status != 0)
        #expect(refused.message.contains("--allow-anonymous-posts"), "\(refused.message)")
        // A watch-only push node takes no posts: nothing to protect.
        try await RedisServer.with { redis in
            let (node, _) = try await DanmakuNode.start(["--host", "0.0.0.0", "--roles", "push", "--disable-viewer-posts", "--bus", redis.url])
            await node.stop()
        }
        // On purpose: an open node, and it serves.
        let open = try await DanmakuNode.start(["--host", "0.0.0.0", "--allow-anonymous-posts"])
        #expect(try await postComment(port: open.port, room: "r", json: #"{"text":"open on purpose"}"#).status == 201)
        await open.stop()
        let badProxies = try await refusal(["--trusted-proxies", "10.0.0.0/99"])
        #expect(badProxies.status != 0 && badProxies.message.contains("--trusted-proxies"), "\(badProxies.message)")
        let badHeader = try await refusal(["--client-address-header", "x-real-ip"])
        #expect(badHeader.status != 0 && badHeader.message.contains("--client-address-header"), "\(badHeader.message)")
    }

    func post(_ port: Int, forwardedFor client: String) async throws -> Int {
        try await httpRequest(
            port: port, method: "POST", path: "/v1/rooms/px/comments",
            headers: ["Content-Type": "application/json", "X-Forwarded-For": client],
            body: Array(#"{"text":"from \#(client) \#(UUID().uuidString)"}"#.utf8)
        ).status
    }

    @Test func aTrustedProxyNamesTheClientForRateLimits() async throws {
        try await withServer({
            $0.logic.ipLimit = RateLimit(perSecond: 0.01, burst: 1)
            $0.ingest.clientAddress = ClientAddress(trustedProxies: "127.0.0.0/8")!
        }) { _, port async throws in
            #expect(try await post(port, forwardedFor: "198.51.100.1") == 201)
            #expect(try await post(port, forwardedFor: "198.51.100.2") == 201, "another client behind the same proxy")
            #expect(try await post(port, forwardedFor: "198.51.100.1") == 429, "the first client again")
            #expect(try await post(port, forwardedFor: "2001:db8:7:7::1") == 201)
            #expect(try await post(port, forwardedFor: "2001:db8:7:7::2") == 429, "the same /64")
        }
        // Without trusted proxies the header is the client's own word, and ignored.
        try await withServer({ $0.logic.ipLimit = RateLimit(perSecond: 0.01, burst: 1) }) { _, port async throws in
            #expect(try await post(port, forwardedFor: "198.51.100.1") == 201)
            #expect(try await post(port, forwardedFor: "198.51.100.2") == 429)
        }
    }
}

/// The monitoring files in Deploy/: Prometheus's scrape configuration is valid, and the Grafana
/// dashboard asks only for metrics a node exports.
@Suite struct MonitoringFilesTests {
    let deploy = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Deploy")

    @Test func thePrometheusConfigurationPassesPromtool() async throws {
        let report = try await Promtool.run(["check", "config", deploy.appendingPathComponent("prometheus/prometheus.yml").path])
        #expect(report.status == 0, "\(report.output)")
    }

    @Test func theAlertingRulesPassPromtoolAndTheirTests() async throws {
        let prometheus = deploy.appendingPathComponent("prometheus")
        let check = try await Promtool.run(["check", "rules", prometheus.appendingPathComponent("alerts.yml").path])
        #expect(check.status == 0, "\(check.output)")
        let tests = try await Promtool.run(["test", "rules", prometheus.appendingPathComponent("alerts.test.yml").path])
        #expect(tests.status == 0, "\(tests.output)")
        // Every metric a rule names is one a node exports.
        let rules = try String(contentsOf: prometheus.appendingPathComponent("alerts.yml"), encoding: .utf8)
        let exported = Set(MetricHelp.text.keys)
        for match in rules.matches(of: try Regex("danmaku_[a-z_]+")) {
            var name = String(rules[match.range])
            if name.hasSuffix("_bucket"), !exported.contains(name) { name = String(name.dropLast("_bucket".count)) }
            #expect(exported.contains(name), "\(name) is not a metric a node exports")
        }
    }

    @Test func theDashboardQueriesOnlyExportedMetrics() throws {
        let data = try Data(contentsOf: deploy.appendingPathComponent("grafana/dashboards/danmaku.json"))
        let dashboard = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let panels = try #require(dashboard["panels"] as? [[String: Any]])
        let expressions = panels.flatMap { ($0["targets"] as? [[String: Any]] ?? []).compactMap { $0["expr"] as? String } }
        #expect(expressions.count >= 10)
        let exported = Set(MetricHelp.text.keys)
        let pattern = try Regex("danmaku_[a-z_]+")
        for expression in expressions {
            for match in expression.matches(of: pattern) {
                var name = String(expression[match.range])
                for suffix in ["_bucket", "_sum", "_count"] where name.hasSuffix(suffix) && !exported.contains(name) {
                    name = String(name.dropLast(suffix.count))
                }
                #expect(exported.contains(name), "the dashboard asks for \(name), which no node exports")
            }
        }
    }
}
