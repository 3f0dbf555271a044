import Foundation

/// A Redis primary, a replica of it, and a Redis Sentinel watching them (quorum 1), on loopback,
/// for one test. The Sentinel fails over to the replica once the primary has been unreachable
/// for three seconds (with one second, on a loaded 2-core machine, it has taken the slow new
/// primary for a dead one and failed over a second time, back to a server that had just returned).
public final class RedisSentinel: Sendable {
    /// The primary the Sentinel was first told of.
    public let primary: RedisServer
    public let replica: RedisServer
    public let sentinelPort: Int
    private let directory: URL
    private let process: Observed<Process?>
    /// The name the Sentinel knows the primary by.
    public static let masterName = "danmaku-primary"

    /// `redis-sentinel://` naming the Sentinel and the primary's name.
    public var url: String { "redis-sentinel://127.0.0.1:\(sentinelPort)/\(Self.masterName)" }

    private init(primary: RedisServer, replica: RedisServer, sentinelPort: Int, directory: URL, process: Process) {
        self.primary = primary
        self.replica = replica
        self.sentinelPort = sentinelPort
        self.directory = directory
        self.process = Observed(process)
    }

    /// Starts the three and waits until the replica is in sync and the Sentinel knows both.
    public static func start() async throws -> RedisSentinel {
        let primary = try await RedisServer.start()
        var replica: RedisServer?
        do {
            replica = try await RedisServer.start(extraArguments: ["--replicaof", "127.0.0.1", String(primary.port)])
            try await eventually("the replica in sync") { try await primary.command(["INFO", "replication"]).contains("state=online") }
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("danmaku-sentinel-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let port = try RedisServer.freePort()
            // The Sentinel rewrites its configuration file as it learns: it must be its own, writable.
            let configuration = directory.appendingPathComponent("sentinel.conf")
            try """
                port \(port)
                bind 127.0.0.1
                dir \(directory.path)
                sentinel monitor \(masterName) 127.0.0.1 \(primary.port) 1
                sentinel down-after-milliseconds \(masterName) 3000
                sentinel failover-timeout \(masterName) 5000
                """.write(to: configuration, atomically: true, encoding: .utf8)
            let process = Process()
            process.executableURL = try RedisServer.executable
            process.arguments = [configuration.path, "--sentinel"]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            let sentinel = RedisSentinel(primary: primary, replica: replica!, sentinelPort: port, directory: directory, process: process)
            try await eventually("the sentinel knows the replica") {
                let reply = (try? await sentinel.command(["SENTINEL", "REPLICAS", masterName])) ?? ""
                return reply.contains(String(replica!.port))
            }
            return sentinel
        } catch {
            await replica?.remove()
            await primary.remove()
            throw error
        }
    }

    /// Runs `body` with a fresh setup and removes it whatever happens.
    public static func with<T>(_ body: (RedisSentinel) async throws -> T) async throws -> T {
        let sentinel = try await start()
        do {
            let result = try await body(sentinel)
            await sentinel.remove()
            return result
        } catch {
            await sentinel.remove()
            throw error
        }
    }

    /// Stops the Sentinel and both servers, and removes their directories.
    public func remove() async {
        if let running = process.value, running.isRunning {
            kill(running.processIdentifier, SIGKILL)
            _ = try? await DanmakuNode.waitForExit(running, timeout: .seconds(5))
        }
        try? FileManager.default.removeItem(at: directory)
        await replica.remove()
        await primary.remove()
    }

    /// The port of the server the Sentinel names as primary now.
    public func currentPrimaryPort() async throws -> Int? {
        let reply = try await command(["SENTINEL", "GET-MASTER-ADDR-BY-NAME", Self.masterName])
        return reply.split(separator: "\r\n").compactMap { Int($0) }.first
    }

    /// Sends one command to the Sentinel and returns the raw reply.
    public func command(_ words: [String]) async throws -> String {
        try await RedisServer.command(words, port: sentinelPort)
    }
}
