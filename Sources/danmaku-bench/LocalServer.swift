// Danmaku — a live-stream bullet-comment service.

import Foundation

/// A `danmaku serve` child process on a free port, for runs without `--url`.
final class LocalServer {
    let process = Process()
    let port: Int

    /// Starts `binary`, by default the `danmaku` binary that sits next to this executable.
    ///
    /// - Parameter cpus: when set, the server runs under `taskset -c cpus` (pinned away from the bench).
    init(binary: String? = nil, batchWindowMilliseconds: Int, cpus: String?, extraArguments: [String]) throws {
        let binary = binary ?? URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
            .deletingLastPathComponent().appendingPathComponent("danmaku").path
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw BenchError("no danmaku binary next to danmaku-bench (looked for \(binary)); build it or pass --url")
        }
        // Wide limits: the bench measures fan-out, and posts from one address.
        var arguments = [
            binary, "serve", "--port", "0", "--log-level", "warning",
            "--batch-window-ms", String(batchWindowMilliseconds),
            "--user-rate", "1000000/1000000", "--ip-rate", "1000000/1000000", "--room-rate", "1000000/1000000",
            "--duplicate-window", "0", "--max-connections-per-ip", "0",
        ] + extraArguments
        if let cpus {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/taskset")
            arguments = ["-c", cpus] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: arguments.removeFirst())
        }
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        // The banner names the port: "… serving on http://127.0.0.1:PORT …".
        var text = ""
        let handle = output.fileHandleForReading
        while !text.contains(" (all roles") {
            let chunk = handle.availableData
            guard !chunk.isEmpty else { throw BenchError("danmaku exited before serving") }
            text += String(decoding: chunk, as: UTF8.self)
        }
        guard let range = text.range(of: "serving on http://127.0.0.1:"),
            let port = Int(text[range.upperBound...].prefix { $0.isNumber })
        else { throw BenchError("could not read the port from: \(text)") }
        self.port = port
        // Keep draining stdout so the child never blocks on a full pipe.
        handle.readabilityHandler = { _ = $0.availableData }
    }

    var pid: Int32 { process.processIdentifier }

    func stop() {
        guard process.isRunning else { return }
        process.interrupt()
        process.waitUntilExit()
    }
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
