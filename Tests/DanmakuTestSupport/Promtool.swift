import Foundation

/// Prometheus's own linter, `promtool` (Debian's `prometheus` package; `.ci/run` installs it).
public enum Promtool {
    struct Missing: Error, CustomStringConvertible {
        var description: String { "promtool not found (install Debian's prometheus package, as .ci/run does)" }
    }

    /// Runs `promtool check metrics` on `text`; returns what it reports (empty: nothing).
    public static func checkMetrics(_ text: String) async throws -> String {
        let (status, report) = try await run(["check", "metrics"], input: text)
        return status == 0 && report.isEmpty ? "" : "exit \(status): \(report)"
    }

    /// Runs `promtool ARGUMENTS` (with `input` on its standard input); its status and output.
    public static func run(_ arguments: [String], input text: String = "") async throws -> (status: Int32, output: String) {
        let path = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init) + ["/usr/bin"]
        guard let executable = path.map({ URL(fileURLWithPath: $0).appendingPathComponent("promtool") })
            .first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else { throw Missing() }
        let (status, output) = try await ChildProcess.run(executable, arguments, input: text, timeout: .seconds(30))
        return (status, output.trimmingCharacters(in: .whitespacesAndNewlines))
    }
}
