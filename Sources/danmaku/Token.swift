// Danmaku — a live-stream bullet-comment service.

import ArgumentParser
import DanmakuAuth
import DanmakuCore
import Foundation

/// `danmaku token`: prints an HS256 token for posting (and, with a moderating role, moderating).
struct Token: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print a signed token for a user.")

    @Option(help: "The server's secret (default: $DANMAKU_JWT_SECRET).")
    var secret: String?

    @Option(help: "User id (the token's sub).")
    var user: String

    @Option(help: "Display name.")
    var name: String

    @Option(help: "viewer, streamer, moderator or admin.")
    var role = "viewer"

    @Option(help: "Lifetime, e.g. 90s, 30m, 1h, 7d.")
    var ttl = "1h"

    @Option(help: "Rooms the token may post in and, for a streamer or moderator, moderate; comma-separated (default: every room; a streamer needs them).")
    var rooms: String?

    @Option(help: "The user's level on the site, 0 to 6 (the token's level claim; it weighs their comments). Default: none.")
    var level: Int?

    func run() async throws {
        guard let secret = secret ?? ProcessInfo.processInfo.environment["DANMAKU_JWT_SECRET"], !secret.isEmpty else {
            throw ValidationError("give --secret or set DANMAKU_JWT_SECRET")
        }
        guard secret.utf8.count >= TokenAuthenticator.minimumSecretBytes else {
            throw ValidationError("the secret must be at least \(TokenAuthenticator.minimumSecretBytes) bytes (HS256)")
        }
        guard let role = PosterRole(rawValue: role) else {
            throw ValidationError("--role must be one of \(PosterRole.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        // A streamer is staff only of the rooms its token names: without them it would be a
        // viewer's token that says "streamer".
        guard role != .streamer || rooms != nil else {
            throw ValidationError("--role streamer needs --rooms: a streamer is staff only of the rooms its token names")
        }
        if let level, !CommentWeight.levels.contains(level) {
            throw ValidationError("--level must be \(CommentWeight.levels.lowerBound) to \(CommentWeight.levels.upperBound)")
        }
        guard let seconds = Self.seconds(ttl), seconds > 0 else { throw ValidationError("--ttl must look like 90s, 30m, 1h or 7d") }
        let claims = DanmakuClaims(
            user: user, name: name, role: role, expires: Date().addingTimeInterval(seconds),
            rooms: rooms.map { $0.split(separator: ",").map(String.init) }, level: level)
        print(try await TokenIssuer.sign(claims, secret: secret))
    }

    /// Seconds in `90s`, `30m`, `1h`, `7d` (a bare number is seconds).
    static func seconds(_ text: String) -> Double? {
        let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86400]
        guard let last = text.last else { return nil }
        if let unit = units[last] { return Double(text.dropLast()).map { $0 * unit } }
        return Double(text)
    }
}
