// Danmaku — a live-stream bullet-comment service.

import NIOCore

/// The JavaScript modules the server's pages load from this origin (no build step, no CDN).
public enum PageScript: String, CaseIterable, Sendable {
    /// `/client.js`: watch a room, post, like; a video's pool (`ClientScript`).
    case client = "client.js"
    /// `/screen.js`: comments flying over the video (`ScreenScript`).
    case screen = "screen.js"
    /// `/playback.js`: a video's pool played against a clock (`PlaybackScript`).
    case playback = "playback.js"
    /// `/admin.js`: the dashboard's script (`AdminScript`).
    case admin = "admin.js"

    /// The module's bytes.
    var body: ByteBuffer {
        switch self {
        case .client: ClientScript.body
        case .screen: ScreenScript.body
        case .playback: PlaybackScript.body
        case .admin: AdminScript.body
        }
    }
}
