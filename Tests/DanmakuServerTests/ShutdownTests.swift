import DanmakuTestSupport
import Foundation
import Testing

/// Runs the real `danmaku` executable and stops it with a signal, as an operator would.
@Suite struct ShutdownTests {
    @Test(arguments: [SIGTERM, SIGINT])
    func signalDrainsViewersWith1001AndExitsZero(_ signal: Int32) async throws {
        let process = Process()
        process.executableURL = DanmakuNode.executable
        process.arguments = ["--port", "0", "--log-level", "warning"]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        defer { if process.isRunning { process.terminate() } }
        let port = try await DanmakuNode.readPort(from: output)

        let viewer = try await TestViewer.join(port: port, room: "bye")
        #expect(try await postComment(port: port, room: "bye", json: #"{"text":"last words"}"#).status == 201)
        try await viewer.waitForComments(1)

        let started = ContinuousClock.now
        kill(process.processIdentifier, signal)
        try await viewer.waitForClose(timeout: .seconds(10))
        #expect(viewer.observed.value.closeCode == 1001)
        let status = try await DanmakuNode.waitForExit(process, timeout: .seconds(10))
        #expect(status == 0)
        #expect(ContinuousClock.now - started < .seconds(5))
        // Nothing listens any more.
        await #expect(throws: (any Error).self) { _ = try await TestConnection.connect(port: port) }
    }
}
