// Danmaku — a live-stream bullet-comment service.

import NIOCore

/// The JavaScript modules the server's pages load from this origin (no build step, no CDN). Each
/// is the file of its name in `Sources/DanmakuIngest/Web/` (`WebAssets`).
public enum PageScript: String, CaseIterable, Sendable {
    /// `/client.js`: watch a room, post, like; a video's pool (`WebAssets.clientScript`).
    case client = "client.js"
    /// `/screen.js`: comments flying over the video (`WebAssets.screenScript`).
    case screen = "screen.js"
    /// `/playback.js`: a video's pool played against a clock (`WebAssets.playbackScript`).
    case playback = "playback.js"
    /// `/admin.js`: the dashboard's script (`WebAssets.adminScript`).
    case admin = "admin.js"

    /// The module's bytes.
    var body: ByteBuffer {
        switch self {
        case .client: WebAssets.clientScript
        case .screen: WebAssets.screenScript
        case .playback: WebAssets.playbackScript
        case .admin: WebAssets.adminScript
        }
    }
}
