import DanmakuTestSupport
import Foundation
import Testing

/// The README's flag table is the one description of `serve`'s options: the same flags as the
/// command's own help, with the same defaults.
@Suite struct FlagTableTests {
    /// `--flag` → its default, from `danmaku serve --help` (nil where the help states none).
    func helpDefaults() throws -> [String: String?] {
        let process = Process()
        process.executableURL = DanmakuNode.executable
        process.arguments = ["serve", "--help"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let help = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        // One block per option: its line and the indented lines of its description, joined.
        var blocks: [String] = []
        for line in help.split(separator: "\n") {
            if line.hasPrefix("  --") {
                blocks.append(String(line))
            } else if !blocks.isEmpty, line.hasPrefix("     ") {
                blocks[blocks.count - 1] += " " + line.trimmingCharacters(in: .whitespaces)
            }
        }
        var defaults: [String: String?] = [:]
        for block in blocks {
            let names = block.split(separator: " ").prefix { $0.hasPrefix("--") }.flatMap { $0.split(separator: "/") }.map(String.init)
            var value: String?
            if let range = block.range(of: "(default: ") {
                value = String(block[range.upperBound...].prefix { $0 != ")" && $0 != ";" })
            }
            for name in names where name != "--help" { defaults[name] = value }
        }
        return defaults
    }

    /// `--flag` → the README's default column, for every row of the table.
    func readmeDefaults() throws -> [String: String] {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
        var defaults: [String: String] = [:]
        for line in readme.split(separator: "\n") where line.hasPrefix("| `--") {
            let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count >= 2 else { continue }
            for name in cells[0].split(separator: "/") {
                defaults[name.trimmingCharacters(in: CharacterSet(charactersIn: " `"))] = cells[1]
            }
        }
        return defaults
    }

    @Test func theReadmeListsEveryFlagWithTheDefaultTheCommandHas() throws {
        let help = try helpDefaults()
        let readme = try readmeDefaults()
        #expect(Set(help.keys) == Set(readme.keys), "only in --help: \(Set(help.keys).subtracting(readme.keys)); only in README: \(Set(readme.keys).subtracting(help.keys))")
        for (flag, value) in help {
            // A plain default in the README (`10`) is the command's; words ("off", "none") describe a missing one.
            guard let documented = readme[flag], documented.hasPrefix("`"), !documented.hasPrefix("`$") else { continue }
            let plain = documented.trimmingCharacters(in: CharacterSet(charactersIn: "`"))
            #expect(value == plain, "\(flag): README says \(documented), --help says \(value ?? "nothing")")
        }
    }
}
