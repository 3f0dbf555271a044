// Danmaku — a live-stream bullet-comment service.

import Foundation
import Histogram

/// The viewers a run gives to other bench processes (`--procs N`): one process holds at most
/// ~19,900 sockets here, and on a machine with cores to spare each process reads on its own.
///
/// Each is this executable again with a share of every room's viewers, numbered after the
/// others' (`--viewer-index-offset`), posting nothing. It connects, warms up until the first
/// SIGUSR1, measures until the second (`--until-signal --start-on-signal`), drains to where
/// this process says each room ended (`--last-seqs-from`, written once its own drain is over),
/// and writes its report, which is added to this one. A process whose parent is gone ends.
final class ViewerProcesses: @unchecked Sendable {
    private var processes: [Process] = []
    private var reports: [URL] = []
    private var progress: [URL] = []
    private let folder: URL
    private let lastSeqs: URL

    /// How many of `viewersPerRoom` process `index` of `count` holds (the first take the rest).
    static func share(of viewersPerRoom: Int, process index: Int, of count: Int) -> Int {
        viewersPerRoom / count + (index < viewersPerRoom % count ? 1 : 0)
    }

    /// Starts processes 1..<count, each with `arguments(share, before, report, lastSeqs)`: its
    /// viewers per room, how many of each room's the processes before it hold, where it writes
    /// its report, and where it reads the rooms' last seqs.
    init(count: Int, viewersPerRoom: Int, arguments: (_ share: Int, _ before: Int, _ report: String, _ lastSeqs: String) -> [String]) throws {
        // A folder of its own, made here (it fails if it exists), readable by this user only.
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("danmaku-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        lastSeqs = folder.appendingPathComponent("last-seqs.json")
        #if os(Linux)
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        #else
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        #endif
        var before = Self.share(of: viewersPerRoom, process: 0, of: count)
        do {
            for index in 1..<count {
                let share = Self.share(of: viewersPerRoom, process: index, of: count)
                let report = folder.appendingPathComponent("process-\(index).json")
                let log = folder.appendingPathComponent("process-\(index).progress")
                FileManager.default.createFile(atPath: log.path, contents: nil)
                let process = Process()
                process.executableURL = executable
                process.arguments = arguments(share, before, report.path, lastSeqs.path)
                process.standardOutput = FileHandle.nullDevice
                process.standardError = try FileHandle(forWritingTo: log)
                try process.run()
                processes.append(process)
                reports.append(report)
                progress.append(log)
                before += share
            }
        } catch {
            stop()
            throw error
        }
    }

    /// Waits until every process has its viewers connected (its "connected:" line); fails at
    /// once when one has ended before that.
    func waitUntilConnected(timeout: Duration) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            var ready = true
            for (process, log) in zip(processes, progress) {
                let connected = (try? String(contentsOf: log, encoding: .utf8))?.contains("connected: ") ?? false
                if connected { continue }
                guard process.isRunning else { throw BenchError("--procs: a viewer process ended before its viewers connected (see \(log.path))") }
                ready = false
            }
            if ready { return }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw BenchError("--procs: not every viewer process connected its viewers in time (see \(folder.path))")
    }

    /// Starts or ends every process's measurement.
    func signal() {
        for process in processes where process.isRunning { kill(process.processIdentifier, SIGUSR1) }
    }

    /// Where each room ended (room name → last seq), for the processes' drains.
    func tellLastSeqs(_ seqs: [String: UInt64]) {
        guard let data = try? JSONEncoder().encode(seqs) else { return }
        try? data.write(to: lastSeqs, options: .atomic)
    }

    /// Waits for every process to end (at most `timeout`), then adds its report to `report`.
    func addReports(to report: inout Report, timeout: Duration) async throws {
        let deadline = ContinuousClock.now + timeout
        while processes.contains(where: \.isRunning), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(200))
        }
        var latency = Histogram<UInt64>(highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: .three)
        func record(_ pairs: [[UInt64]]) {
            for pair in pairs where pair.count == 2 { _ = latency.record(pair[0], count: pair[1]) }
        }
        record(report.latencyRecorded)
        for (process, file) in zip(processes, reports) {
            if process.isRunning { process.terminate() }
            guard let data = try? Data(contentsOf: file), let other = try? JSONDecoder().decode(Report.self, from: data) else {
                throw BenchError("--procs: a viewer process wrote no report (see \(folder.path))")
            }
            report.add(other)
            record(other.latencyRecorded)
        }
        try? FileManager.default.removeItem(at: folder)
        report.latencyMicroseconds = Report.latency(latency)
        report.latencyRecorded = latency.recordedValues().map { [$0.value, $0.count] }
        report.processes = processes.count + 1
    }

    /// Ends every process still running (the run failed, or is over).
    func stop() {
        for process in processes where process.isRunning { process.terminate() }
    }

    /// Ends this process when the one that started it is gone (it was interrupted, or failed
    /// without stopping its viewer processes): checked twice a second.
    static func endWithParent() {
        let parent = getppid()
        Thread.detachNewThread {
            while true {
                Thread.sleep(forTimeInterval: 0.5)
                if getppid() != parent { exit(2) }
            }
        }
    }

    /// Reads the rooms' last seqs the starting process wrote (`tellLastSeqs`), waiting for them
    /// at most `timeout`; nil if they did not come.
    static func lastSeqs(from path: String, timeout: Duration) async -> [String: UInt64]? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let data = FileManager.default.contents(atPath: path), let seqs = try? JSONDecoder().decode([String: UInt64].self, from: data) {
                return seqs
            }
            try? await Task.sleep(for: .milliseconds(100))
        }
        return nil
    }
}

extension Report {
    /// Adds what another process's viewers measured (its posts, if any, are not this run's).
    mutating func add(_ other: Report) {
        viewersPerRoom += other.viewersPerRoom
        connectionsOK += other.connectionsOK
        connectionsFailed += other.connectionsFailed
        connectionsClosedEarly += other.connectionsClosedEarly
        connectSeconds = max(connectSeconds, other.connectSeconds)
        deliveriesPerSecond += other.deliveriesPerSecond
        framesPerSecond += other.framesPerSecond
        bytesPerSecond += other.bytesPerSecond
        latencySamples += other.latencySamples
        verifiedViewers += other.verifiedViewers
        missing += other.missing
        duplicated += other.duplicated
        shed += other.shed
        merged += other.merged
        deliveries += other.deliveries
        roomsWithoutLastSeq += other.roomsWithoutLastSeq
        if let cpu = other.benchCPUPercent { benchCPUPercent = (benchCPUPercent ?? 0) + cpu }
        if let rss = other.benchRSSBytesConnected { benchRSSBytesConnected = (benchRSSBytesConnected ?? 0) + rss }
        if let rss = other.benchRSSBytesIdle { benchRSSBytesIdle = (benchRSSBytesIdle ?? 0) + rss }
        if let value = other.dropped { dropped = (dropped ?? 0) + value }
        if let value = other.rejoined { rejoined = (rejoined ?? 0) + value }
        if let value = other.reconnectAttemptsFailed { reconnectAttemptsFailed = (reconnectAttemptsFailed ?? 0) + value }
        if let value = other.epochRestarts { epochRestarts = (epochRestarts ?? 0) + value }
        if let value = other.awayAtEnd { awayAtEnd = (awayAtEnd ?? 0) + value }
        if let value = other.lastRejoinUnixMicroseconds { lastRejoinUnixMicroseconds = max(lastRejoinUnixMicroseconds ?? 0, value) }
    }
}
