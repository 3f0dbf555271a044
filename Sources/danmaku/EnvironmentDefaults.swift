// Danmaku — a live-stream bullet-comment service.

import Foundation

/// `DANMAKU_*` environment variables as defaults for `serve`'s flags: `DANMAKU_BATCH_WINDOW_MS=5`
/// stands for `--batch-window-ms 5`, `DANMAKU_COMPRESSION=false` for `--disable-compression`.
/// A flag on the command line wins over the variable.
///
/// The flags are read from the parser's own help, so every option has its variable without a
/// second list to keep in step. Variables that name no flag are reported and ignored (tools and
/// tests use a few `DANMAKU_*` names of their own).
enum EnvironmentDefaults {
    /// `DANMAKU_*` names used by the tests and scripts, or read by `serve` itself rather than as a
    /// flag (the bus password, kept out of process listings): not worth a warning.
    static let otherUses: Set<String> = ["DANMAKU_BIN", "DANMAKU_REDIS_SERVER", "DANMAKU_FUZZ_TARGET", "DANMAKU_BUS_PASSWORD"]

    /// `arguments` (without the program name) with the environment's defaults added for `serve`.
    static func apply(to arguments: [String], environment: [String: String], help: String) -> (arguments: [String], ignored: [String]) {
        // Only `serve`, which is also what runs when no subcommand is named.
        if let first = arguments.first, !first.hasPrefix("-"), first != "serve" { return (arguments, []) }
        let (options, toggles) = flags(inHelp: help)
        var added: [String] = []
        var ignored: [String] = []
        for (name, value) in environment.sorted(by: { $0.key < $1.key }) where name.hasPrefix("DANMAKU_") {
            let flag = name.dropFirst("DANMAKU_".count).lowercased().replacingOccurrences(of: "_", with: "-")
            if options.contains(flag) {
                guard !given(flag, in: arguments) else { continue }
                added += ["--\(flag)", value]
            } else if toggles.contains(flag) {
                guard !given("enable-\(flag)", in: arguments), !given("disable-\(flag)", in: arguments) else { continue }
                let on = ["1", "true", "yes", "on"].contains(value.lowercased())
                added.append(on ? "--enable-\(flag)" : "--disable-\(flag)")
            } else {
                ignored.append(name)
            }
        }
        return (arguments + added, ignored)
    }

    /// Option names (`host`, `batch-window-ms`) and on/off flag names (`compression`) in `help`.
    static func flags(inHelp help: String) -> (options: Set<String>, toggles: Set<String>) {
        var options: Set<String> = []
        var toggles: Set<String> = []
        for line in help.split(separator: "\n") {
            let trimmed = line.drop { $0 == " " }
            guard line.hasPrefix("  --"), let first = trimmed.split(separator: " ").first else { continue }
            if first.hasPrefix("--enable-"), first.contains("/--disable-") {
                toggles.insert(String(first.dropFirst("--enable-".count).prefix { $0 != "/" }))
            } else if trimmed.dropFirst(first.count).hasPrefix(" <") {
                options.insert(String(first.dropFirst(2)))
            }
        }
        options.remove("help")
        return (options, toggles)
    }

    private static func given(_ flag: String, in arguments: [String]) -> Bool {
        arguments.contains { $0 == "--\(flag)" || $0.hasPrefix("--\(flag)=") }
    }
}
