import DanmakuTestSupport
import Foundation
import Testing

/// `danmaku-bench --procs N` spreads a room's viewers over N processes and reports them as one
/// run: every viewer joined, every comment checked on every viewer, the latencies merged.
@Suite struct BenchProcessesTests {
    @Test func viewersInSeveralProcessesAreCountedAsOneRun() async throws {
        let bench = DanmakuNode.executable.deletingLastPathComponent().appendingPathComponent("danmaku-bench")
        let report = FileManager.default.temporaryDirectory.appendingPathComponent("danmaku-bench-procs-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: report) }
        let run = try await ChildProcess.run(
            bench,
            ["--procs", "3", "--scenario", "one-room", "--viewers", "31", "--rate", "40", "--duration", "2", "--warmup", "1",
             "--verify-every", "1", "--json", report.path],
            timeout: .seconds(120))
        #expect(run.status == 0, "\(run.output)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: report)) as? [String: Any])
        #expect(json["processes"] as? Int == 3)
        #expect(json["viewersPerRoom"] as? Int == 31 && json["connectionsOK"] as? Int == 31 && json["verifiedViewers"] as? Int == 31)
        #expect(json["missing"] as? Int == 0 && json["duplicated"] as? Int == 0)
        #expect(json["connectionsFailed"] as? Int == 0 && json["connectionsClosedEarly"] as? Int == 0)
        // Every viewer times every comment (--verify-every 1): the merged samples are all viewers'.
        let samples = try #require(json["latencySamples"] as? Int)
        let deliveries = try #require(json["deliveries"] as? Int)
        #expect(deliveries >= 31 * 40 && samples == deliveries, "\(run.output)")
    }
}
