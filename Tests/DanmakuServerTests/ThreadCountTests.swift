import DanmakuTestSupport
import Foundation
import Testing

/// `--threads 0` starts one EventLoop per core the process may use: under `taskset -c 0`, one.
@Suite struct ThreadCountTests {
    @Test func threadsZeroHonoursTheAffinityMask() async throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/taskset") else { return }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/taskset")
        process.arguments = ["-c", "0", DanmakuNode.executable.path, "serve", "--port", "0", "--threads", "0"]
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        let log = Observed("")
        errors.fileHandleForReading.readabilityHandler = { handle in
            let chunk = String(decoding: handle.availableData, as: UTF8.self)
            log.update { $0 += chunk }
        }
        try process.run()
        defer { errors.fileHandleForReading.readabilityHandler = nil }
        do {
            try await log.wait(for: "the listening line", timeout: .seconds(30)) { $0.contains("listening") }
        } catch {
            kill(process.processIdentifier, SIGKILL)
            throw error
        }
        #expect(log.value.contains("threads=1"), "\(log.value)")
        kill(process.processIdentifier, SIGTERM)
        _ = try await DanmakuNode.waitForExit(process, timeout: .seconds(15))
    }
}
