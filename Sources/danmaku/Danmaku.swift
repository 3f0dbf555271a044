// Danmaku — a live-stream bullet-comment service.

import ArgumentParser

/// The `danmaku` command: `serve` (the default) runs the service, `token` prints a token.
@main
struct Danmaku: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "danmaku",
        abstract: "Live-stream bullet comments: HTTP in, batched WebSocket frames out.",
        subcommands: [Serve.self, Token.self],
        defaultSubcommand: Serve.self)
}
