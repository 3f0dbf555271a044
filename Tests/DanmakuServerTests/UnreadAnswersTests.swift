import DanmakuTestSupport
import Foundation
import Testing

/// A client that pipelines requests and never reads the answers costs a node a bounded amount of
/// memory (docs/LIMITS.md: 64 KiB of unwritten answers, one answer, 16 parsed requests, one read),
/// and the node keeps serving everyone else.
@Suite struct UnreadAnswersTests {
    /// The resident memory of process `pid`, in bytes.
    static func residentBytes(_ pid: Int32) -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let kilobytes = line.split(separator: " ").dropFirst().first.flatMap({ Int($0) }) else { return nil }
        return kilobytes * 1024
    }

    @Test func pipelinedMetricsNeverReadForFifteenSecondsKeepTheNodeSmall() async throws {
        let node = try await DanmakuNode.start([])
        defer { node.process.terminate() }
        let pid = node.process.processIdentifier
        // Warm up what every node allocates once (metrics, the page, the loops' buffers).
        #expect(try await httpRequest(port: node.port, method: "GET", path: "/metrics").status == 200)
        let before = try #require(Self.residentBytes(pid))
        let connection = try await TestConnection.connect(port: node.port, autoRead: false, receiveBuffer: 4096)
        let requests = Array(String(repeating: "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", count: 100).utf8)
        let sender = Task {
            while !Task.isCancelled { try await connection.send(requests) }
        }
        var peak = before
        let end = ContinuousClock.now + .seconds(15)
        while ContinuousClock.now < end {
            try await Task.sleep(for: .milliseconds(500))
            peak = max(peak, Self.residentBytes(pid) ?? 0)
        }
        sender.cancel()
        await connection.close()
        _ = await sender.result
        let growth = peak - before
        #expect(growth < 32 * 1024 * 1024, "the node grew by \(growth / 1024) KiB for one client that does not read")
        #expect(try await httpRequest(port: node.port, method: "GET", path: "/healthz").status == 200)
        await node.stop()
    }
}
