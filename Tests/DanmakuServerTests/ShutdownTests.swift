import DanmakuServer
import DanmakuTestSupport
import Foundation
import Logging
import NIOConcurrencyHelpers
import ServiceLifecycle
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
        // Not the test runner's stderr: a node left behind by a crashed run would keep
        // `swift test` waiting for the end of its output.
        process.standardError = FileHandle.nullDevice
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

/// What an operator sets from outside: `DANMAKU_*` variables (flags win) and the log format.
@Suite struct CommandLineTests {
    @Test func environmentVariablesSetOptionsAndFlagsWin() async throws {
        let (node, banner) = try await DanmakuNode.start(
            ["--batch-window-ms", "9"],
            environment: ["DANMAKU_BATCH_WINDOW_MS": "7", "DANMAKU_MAX_BODY_BYTES": "64", "DANMAKU_COMPRESSION": "false"])
        #expect(banner.contains("batch window 9 ms"), "\(banner)")
        let reply = try await postComment(port: node.port, room: "env", json: #"{"text":"\#(String(repeating: "x", count: 80))"}"#)
        #expect(reply.status == 413 && reply.errorCode == "body_too_large", "DANMAKU_MAX_BODY_BYTES applies: \(reply)")
        await node.stop()
    }

    @Test func aSecretFromTheEnvironmentTurnsTokensOn() async throws {
        let (open, openBanner) = try await DanmakuNode.start([], environment: ["DANMAKU_JWT_SECRET": ""])
        #expect(openBanner.contains("OPEN development mode"))
        await open.stop()
        let (node, banner) = try await DanmakuNode.start([], environment: ["DANMAKU_JWT_SECRET": "a-secret-of-at-least-thirty-two-bytes"])
        #expect(banner.contains("needs a token"))
        #expect(try await postComment(port: node.port, room: "env", json: #"{"text":"hi"}"#).errorCode == "missing_token")
        await node.stop()
    }

    @Test func jsonLogsAreOneObjectPerLine() async throws {
        let errors = Pipe()
        let lines = Observed("")
        errors.fileHandleForReading.readabilityHandler = { handle in
            let chunk = String(decoding: handle.availableData, as: UTF8.self)
            lines.update { $0 += chunk }
        }
        defer { errors.fileHandleForReading.readabilityHandler = nil }
        let (node, _) = try await DanmakuNode.start(["--log-format", "json", "--log-level", "info"], errors: errors)
        try await lines.wait(for: "the listening line") { $0.contains("listening") }
        await node.stop()
        for line in lines.value.split(separator: "\n") {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            #expect(object?["level"] != nil && object?["message"] != nil && (object?["ts"] as? String)?.hasSuffix("Z") == true, "\(line)")
        }
    }

    @Test func postSendsEachLineWaitingOut429sAndSummarizes() async throws {
        let (node, _) = try await DanmakuNode.start([])
        let process = Process()
        process.executableURL = DanmakuNode.executable
        process.arguments = ["post", "--url", "http://127.0.0.1:\(node.port)", "--room", "tools"]
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
        // 12 lines: more than the default per-user burst of 10, so some get 429 and are retried.
        let lines = (1...12).map { "line \($0)" } + [String(repeating: "x", count: 201)]
        input.fileHandleForWriting.write(Data((lines.joined(separator: "\n") + "\n").utf8))
        try input.fileHandleForWriting.close()
        let status = try await DanmakuNode.waitForExit(process, timeout: .seconds(30))
        let summary = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(status == 1, "a line was refused")
        #expect(summary.hasPrefix("accepted 12, rejected 1 (text_too_long 1); waited"), "\(summary)")
        let history = try await httpRequest(port: node.port, method: "GET", path: "/v1/rooms/tools/comments?since=0")
        #expect(history.json["lastSeq"] as? Int == 12)
        await node.stop()
    }

    @Test func sighupReloadsTheWordList() async throws {
        let list = FileManager.default.temporaryDirectory.appendingPathComponent("words-\(UUID().uuidString).txt")
        try "# blocked\nspoiler\n".write(to: list, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: list) }
        let (node, _) = try await DanmakuNode.start(["--words", list.path])
        #expect(try await postComment(port: node.port, room: "w", json: #"{"text":"a spoiler"}"#).errorCode == "filtered")
        #expect(try await postComment(port: node.port, room: "w", json: #"{"text":"durian"}"#).status == 201)
        try "spoiler\ndurian\n".write(to: list, atomically: true, encoding: .utf8)
        kill(node.process.processIdentifier, SIGHUP)
        var answer = 0
        for attempt in 0..<100 {
            answer = try await postComment(port: node.port, room: "w", json: #"{"text":"durian again \#(attempt)"}"#).status
            if answer == 422 { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(answer == 422, "the reloaded list blocks the new word")
        #expect(node.process.isRunning, "SIGHUP does not stop the server")
        await node.stop()
    }
}

/// A server whose group is cancelled (a forced stop, not a graceful one) still ends: its event
/// loops outlive every part, so a part's last work (the hub's drain, the outbox's flush) is not
/// submitted to a loop that has already shut down and left waiting for ever.
@Suite struct ForcedStopTests {
    @Test func aCancelledServerWithViewersStops() async throws {
        var configuration = ServerConfiguration()
        configuration.port = 0
        configuration.threads = 2
        var logger = Logger(label: "danmaku-test")
        logger.logLevel = .critical
        let server = DanmakuServer(configuration: configuration, logger: logger)
        let (ports, listening) = AsyncStream.makeStream(of: Int.self)
        let stopped = NIOLockedValueBox(false)
        let running = Task {
            let group = ServiceGroup(
                services: [DanmakuService(server: server) { listening.yield($0) }], gracefulShutdownSignals: [], cancellationSignals: [],
                logger: logger)
            try? await group.run()
            stopped.withLockedValue { $0 = true }
        }
        var started = ports.makeAsyncIterator()
        let port = try #require(await started.next())
        let viewers = try await (0..<3).asyncMap { _ in try await TestViewer.join(port: port, room: "forced") }
        #expect(try await postComment(port: port, room: "forced", json: #"{"text":"before"}"#).status == 201)
        running.cancel()
        let deadline = ContinuousClock.now + .seconds(15)
        while !stopped.withLockedValue({ $0 }), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        #expect(stopped.withLockedValue { $0 }, "the cancelled server did not stop within 15 s")
        for viewer in viewers { await viewer.close() }
    }
}
