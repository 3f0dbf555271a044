// Danmaku — a live-stream bullet-comment service.

import Foundation

/// Reads a process's resident memory and CPU time from /proc (Linux).
public struct ProcessSample: Sendable {
    /// Resident set size, bytes.
    public var rssBytes: Int
    /// User + system CPU time, seconds.
    public var cpuSeconds: Double
    /// Open file descriptors.
    public var openFiles: Int

    /// Samples `pid`; nil when it is gone or /proc is unavailable.
    public static func take(pid: Int32) -> ProcessSample? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)
        else { return nil }
        var rss = 0
        for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            rss = (Int(line.split(separator: " ", omittingEmptySubsequences: true)[1]) ?? 0) * 1024
        }
        // Fields after the command name (which may contain spaces) start after the last ')'.
        guard let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // utime and stime are fields 14 and 15 of the whole line: 12 and 13 after the ')'.
        let ticks = (Double(fields[11]) ?? 0) + (Double(fields[12]) ?? 0)
        let hertz = Double(sysconf(Int32(_SC_CLK_TCK)))
        let files = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? 0
        return ProcessSample(rssBytes: rss, cpuSeconds: ticks / hertz, openFiles: files)
    }

    /// Cores this process may run on (its affinity mask, e.g. under `taskset`), or the machine's.
    public static func allowedCores() -> Int {
        let online = ProcessInfo.processInfo.activeProcessorCount
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Cpus_allowed:") })
        else { return online }
        let bits = line.dropFirst("Cpus_allowed:".count).reduce(0) { $0 + (Int(String($1), radix: 16) ?? 0).nonzeroBitCount }
        return bits > 0 ? min(bits, online) : online
    }
}
