// Danmaku — a live-stream bullet-comment service.

import ArgumentParser
import Foundation

/// The `danmaku` command: `serve` (the default) runs the service, `token` prints a token.
@main
struct Danmaku: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "danmaku",
        abstract: "Live-stream bullet comments: HTTP in, batched WebSocket frames out.",
        subcommands: [Serve.self, Token.self, Post.self, Pool.self, Status.self, OpenAPI.self],
        defaultSubcommand: Serve.self)

    /// Adds `DANMAKU_*` environment defaults to `serve`'s flags, then runs the command.
    static func main() async {
        let (arguments, ignored) = EnvironmentDefaults.apply(
            to: Array(CommandLine.arguments.dropFirst()), environment: ProcessInfo.processInfo.environment,
            help: Serve.helpMessage(columns: 10_000))
        for name in ignored where !EnvironmentDefaults.otherUses.contains(name) {
            FileHandle.standardError.write(Data("warning: \(name) is not a danmaku serve option; ignored\n".utf8))
        }
        await main(arguments)
    }
}
