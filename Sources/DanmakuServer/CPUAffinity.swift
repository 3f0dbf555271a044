// Danmaku — a live-stream bullet-comment service.

import Foundation
import NIOCore

/// How many cores this process may run on: the CPU affinity mask (`taskset`, cpusets), not the
/// cores the machine has, so `--threads 0` starts one loop per core it can actually use.
enum CPUAffinity {
    static func usableCores() -> Int {
        // Linux reports the mask as hex words in /proc/self/status ("Cpus_allowed:\tff,ffffffff");
        // Glibc's sched_getaffinity is not visible to Swift.
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Cpus_allowed:") })
        else { return System.coreCount }
        let mask = line.dropFirst("Cpus_allowed:".count).filter { $0.isHexDigit }
        let count = mask.reduce(0) { $0 + (Int(String($1), radix: 16) ?? 0).nonzeroBitCount }
        return count > 0 ? min(count, System.coreCount) : System.coreCount
    }
}
