import Foundation
import NIOCore
import NIOPosix

/// A `danmaku` process started by a test, as an operator would run it.
public final class DanmakuNode: Sendable {
    public let process: Process
    /// The port it serves on (read from its banner).
    public let port: Int

    /// The `danmaku` binary built next to the test bundle.
    public static var executable: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("danmaku")
    }

    /// Starts `danmaku serve` with `arguments` (on a free port) and waits for its banner.
    public static func start(_ arguments: [String], environment: [String: String] = [:]) async throws -> DanmakuNode {
        try await start(arguments, environment: environment).node
    }

    /// Starts `danmaku serve` and returns the node with the banner it printed.
    public static func start(_ arguments: [String], environment: [String: String] = [:], errors: Pipe? = nil) async throws -> (node: DanmakuNode, banner: String) {
        let process = Process()
        process.executableURL = executable
        process.arguments = ["serve", "--port", "0", "--log-level", "warning"] + arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        // Never the test runner's own stderr: a node left behind would keep `swift test` waiting
        // for the end of its output. Without `errors`, the log goes to a file in the temp folder.
        process.standardError = errors ?? FileHandle(forWritingAtPath: logFile()) ?? FileHandle.nullDevice
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        do {
            let (port, banner) = try await readBanner(from: output)
            return (DanmakuNode(process: process, port: port), banner)
        } catch {
            process.terminate()
            throw error
        }
    }

    private init(process: Process, port: Int) {
        self.process = process
        self.port = port
    }

    /// A fresh file for a node's log.
    private static func logFile() -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("danmaku-node-\(UUID().uuidString).log").path
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        return path
    }

    /// Sends `signal` (SIGKILL for a crash, SIGTERM for a graceful stop) and waits for the exit.
    public func stop(signal: Int32 = SIGTERM) async {
        guard process.isRunning else { return }
        kill(process.processIdentifier, signal)
        _ = try? await Self.waitForExit(process, timeout: .seconds(15))
    }

    /// Reads the banner line `… serving on http://127.0.0.1:PORT …`.
    public static func readPort(from pipe: Pipe) async throws -> Int {
        try await readBanner(from: pipe).port
    }

    /// Reads the banner (until its `health:` line) and the port in it.
    public static func readBanner(from pipe: Pipe) async throws -> (port: Int, banner: String) {
        let text = Observed("")
        pipe.fileHandleForReading.readabilityHandler = { handle in
            let chunk = String(decoding: handle.availableData, as: UTF8.self)
            text.update { $0 += chunk }
        }
        defer { pipe.fileHandleForReading.readabilityHandler = nil }
        try await text.wait(for: "the serving banner") { port(in: $0) != nil && $0.contains("health:") }
        return (port(in: text.value)!, text.value)
    }

    static func port(in banner: String) -> Int? {
        // Loopback, or every address (0.0.0.0), which the tests reach on loopback too.
        guard let start = banner.range(of: "serving on http://127.0.0.1:")?.upperBound ?? banner.range(of: "serving on http://0.0.0.0:")?.upperBound
        else { return nil }
        let digits = banner[start...].prefix { $0.isNumber }
        return banner[start...].dropFirst(digits.count).first == nil ? nil : Int(digits)
    }

    /// Waits for `process` to exit and returns its status.
    public static func waitForExit(_ process: Process, timeout: Duration) async throws -> Int32 {
        // Polled: Foundation's termination handler is not called reliably for every child here.
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            guard ContinuousClock.now < deadline else { throw TimedOut(description: "process exit") }
            try await Task.sleep(for: .milliseconds(10))
        }
        return process.terminationStatus
    }
}

/// A real `redis-server` on a free loopback port, in its own directory, for one test.
///
/// With `durable`, it keeps an append-only file synced on every write, so a restart keeps what
/// it acknowledged (the setting the distributed mode's guarantees assume; see docs/CLUSTER.md).
public final class RedisServer: Sendable {
    public let port: Int
    public let directory: URL
    let durable: Bool
    /// More `redis-server` arguments (TLS settings, for instance).
    let extraArguments: [String]
    private let running = Observed<Process?>(nil)

    /// `redis-server` from `DANMAKU_REDIS_SERVER` or the PATH; `.ci/run` installs it.
    public static var executable: URL {
        get throws {
            if let path = ProcessInfo.processInfo.environment["DANMAKU_REDIS_SERVER"] { return URL(fileURLWithPath: path) }
            let path = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init)
            for directory in path + ["/usr/bin", "/usr/local/bin"] {
                let candidate = URL(fileURLWithPath: directory).appendingPathComponent("redis-server")
                if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            }
            throw MissingRedis()
        }
    }

    struct MissingRedis: Error, CustomStringConvertible {
        var description: String { "redis-server not found (install Debian's redis-server, as .ci/run does, or set DANMAKU_REDIS_SERVER)" }
    }

    public var url: String { "redis://127.0.0.1:\(port)" }

    /// Starts a server and waits until it answers. The free port it was given may be taken by
    /// another test's outgoing connection before the server binds it (both come from the kernel's
    /// ephemeral range): then it starts again on another port.
    public static func start(
        durable: Bool = false, extraArguments: [String] = [], choosingPort: () throws -> Int = freePort
    ) async throws -> RedisServer {
        var attempt = 0
        while true {
            attempt += 1
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("danmaku-redis-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let server = RedisServer(port: try choosingPort(), directory: directory, durable: durable, extraArguments: extraArguments)
            do {
                try await server.start()
                return server
            } catch let error as PortTaken where attempt < 5 {
                _ = error
                await server.remove()
            }
        }
    }

    /// The server exited at once: its port was taken.
    struct PortTaken: Error {}

    private init(port: Int, directory: URL, durable: Bool, extraArguments: [String]) {
        self.port = port
        self.directory = directory
        self.durable = durable
        self.extraArguments = extraArguments
    }

    /// Starts (or restarts) the server on the same port and directory.
    public func start() async throws {
        let process = Process()
        process.executableURL = try Self.executable
        process.currentDirectoryURL = directory
        process.arguments = [
            "--port", String(port), "--bind", "127.0.0.1", "--dir", directory.path, "--save", "",
            "--appendonly", durable ? "yes" : "no", "--appendfsync", "always", "--enable-debug-command", "yes",
        ] + extraArguments
        // Neither stream may be the test runner's: a server left behind would keep `swift test`
        // waiting for the end of its output.
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        running.update { $0 = process }
        // Generous: the wait ends at the first PONG (a few ms), but a full parallel run on two busy
        // cores has kept this loop from running for more than 10 s.
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            if (try? await command(["PING"])) == "+PONG\r\n" { return }
            if !process.isRunning { throw PortTaken() }
            try await Task.sleep(for: .milliseconds(20))
        }
        // Not left behind: a server the test gives up on would outlive the test run.
        Foundation.kill(process.processIdentifier, SIGKILL)
        _ = try? await DanmakuNode.waitForExit(process, timeout: .seconds(5))
        running.update { $0 = nil }
        throw TimedOut(description: "redis-server on port \(port) did not answer PING")
    }

    /// Stops the server with `SHUTDOWN` (a child of the test process may have SIGTERM blocked),
    /// SIGKILL if it is still there after 5 s. With `durable`, every acknowledged write is
    /// already on disk either way (`appendfsync always`).
    public func stop() async {
        guard let process = running.value, process.isRunning else { return }
        _ = try? await command(["SHUTDOWN"])
        if (try? await DanmakuNode.waitForExit(process, timeout: .seconds(5))) == nil {
            Foundation.kill(process.processIdentifier, SIGKILL)
            _ = try? await DanmakuNode.waitForExit(process, timeout: .seconds(5))
        }
        running.update { $0 = nil }
    }

    /// Whether the server process is running.
    public var isRunning: Bool { running.value?.isRunning ?? false }

    /// Kills the server at once (SIGKILL): a crash, for failover tests.
    public func kill() async {
        guard let process = running.value, process.isRunning else { return }
        Foundation.kill(process.processIdentifier, SIGKILL)
        _ = try? await DanmakuNode.waitForExit(process, timeout: .seconds(5))
        running.update { $0 = nil }
    }

    /// Runs `body` with a fresh server, and removes the server whatever happens.
    public static func with<T>(
        durable: Bool = false, extraArguments: [String] = [], _ body: (RedisServer) async throws -> T
    ) async throws -> T {
        let server = try await start(durable: durable, extraArguments: extraArguments)
        do {
            let result = try await body(server)
            await server.remove()
            return result
        } catch {
            await server.remove()
            throw error
        }
    }

    /// Stops the server and removes its directory.
    public func remove() async {
        await stop()
        try? FileManager.default.removeItem(at: directory)
    }

    /// Sends one command and returns the raw reply, for checks from tests.
    public func command(_ words: [String]) async throws -> String {
        try await Self.command(words, port: port)
    }

    /// Sends one command to whatever Redis (or Sentinel) listens on `port` and returns the raw
    /// reply.
    public static func command(_ words: [String], port: Int) async throws -> String {
        let connection = try await TestConnection.connect(port: port)
        let encoded = "*\(words.count)\r\n" + words.map { "$\($0.utf8.count)\r\n\($0)\r\n" }.joined()
        try await connection.send(encoded)
        try await connection.input.wait(for: "redis reply", timeout: .seconds(5)) { $0.bytes.contains(UInt8(ascii: "\n")) || $0.closed }
        // A short settle for multi-line replies.
        try await Task.sleep(for: .milliseconds(20))
        let reply = String(decoding: connection.input.value.bytes, as: UTF8.self)
        await connection.close()
        return reply
    }

    /// A free TCP port on loopback (bound once by the kernel's choice, then released).
    public static func freePort() throws -> Int {
        let group = MultiThreadedEventLoopGroup.singleton
        let channel = try ServerBootstrap(group: group).bind(host: "127.0.0.1", port: 0).wait()
        let port = channel.localAddress!.port!
        try channel.close().wait()
        return port
    }
}

/// Runs a command-line tool to its exit: its status and what it printed (stdout and stderr).
public enum ChildProcess {
    public static func run(
        _ executable: URL, _ arguments: [String], input: String? = nil, timeout: Duration = .seconds(60)
    ) async throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        let stdin = input.map { _ in Pipe() }
        process.standardInput = stdin ?? FileHandle.nullDevice
        try process.run()
        if let stdin, let input {
            stdin.fileHandleForWriting.write(Data(input.utf8))
            try stdin.fileHandleForWriting.close()
        }
        let data = try await Task.detached { try output.fileHandleForReading.readToEnd() ?? Data() }.value
        let status = try await DanmakuNode.waitForExit(process, timeout: timeout)
        return (status, String(decoding: data, as: UTF8.self))
    }
}
