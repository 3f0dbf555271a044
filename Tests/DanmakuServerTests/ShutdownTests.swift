import DanmakuTestSupport
import Foundation
import Testing

/// Runs the real `danmaku` executable and stops it with a signal, as an operator would.
@Suite struct ShutdownTests {
    /// The `danmaku` binary built next to the test bundle.
    static var executable: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("danmaku")
    }

    @Test(arguments: [SIGTERM, SIGINT])
    func signalDrainsViewersWith1001AndExitsZero(_ signal: Int32) async throws {
        let process = Process()
        process.executableURL = Self.executable
        process.arguments = ["--port", "0", "--log-level", "warning"]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        defer { if process.isRunning { process.terminate() } }
        let port = try await Self.readPort(from: output)

        let viewer = try await TestViewer.join(port: port, room: "bye")
        #expect(try await postComment(port: port, room: "bye", json: #"{"text":"last words"}"#).status == 201)
        try await viewer.waitForComments(1)

        let started = ContinuousClock.now
        kill(process.processIdentifier, signal)
        try await viewer.waitForClose(timeout: .seconds(10))
        #expect(viewer.observed.value.closeCode == 1001)
        let status = try await Self.waitForExit(process, timeout: .seconds(10))
        #expect(status == 0)
        #expect(ContinuousClock.now - started < .seconds(5))
        // Nothing listens any more.
        await #expect(throws: (any Error).self) { _ = try await TestConnection.connect(port: port) }
    }

    /// Reads the banner line `… serving on http://127.0.0.1:PORT …`.
    static func readPort(from pipe: Pipe) async throws -> Int {
        let text = Observed("")
        pipe.fileHandleForReading.readabilityHandler = { handle in
            let chunk = String(decoding: handle.availableData, as: UTF8.self)
            text.update { $0 += chunk }
        }
        defer { pipe.fileHandleForReading.readabilityHandler = nil }
        try await text.wait(for: "the serving banner") { port(in: $0) != nil }
        return port(in: text.value)!
    }

    static func port(in banner: String) -> Int? {
        let marker = "serving on http://127.0.0.1:"
        guard let start = banner.range(of: marker)?.upperBound else { return nil }
        let digits = banner[start...].prefix { $0.isNumber }
        return banner[start...].dropFirst(digits.count).first == nil ? nil : Int(digits)
    }

    static func waitForExit(_ process: Process, timeout: Duration) async throws -> Int32 {
        let exited = Observed(false)
        process.terminationHandler = { _ in exited.update { $0 = true } }
        if !process.isRunning { return process.terminationStatus }
        try await exited.wait(for: "process exit", timeout: timeout) { $0 }
        return process.terminationStatus
    }
}
