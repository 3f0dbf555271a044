// Danmaku — a live-stream bullet-comment service.

import DanmakuCore
import NIOHTTP1

/// Which node may answer an endpoint: any, or only one running a role.
public enum ServingRole: Sendable, Equatable {
    case anyNode
    /// Takes posts (the ingest role, with logic).
    case ingest
    /// Changes moderation state (the logic role, with ingest).
    case logic
    /// Holds viewers.
    case push
}

/// One method of one route: who serves it, and whether it reads the store (such reads are
/// budgeted per client address, `ReadBudget`).
public struct Endpoint: Sendable, Equatable {
    public var role: ServingRole
    public var readsStore: Bool

    init(_ role: ServingRole, readsStore: Bool = false) {
        self.role = role
        self.readsStore = readsStore
    }
}

extension Route {
    /// The route's endpoints by method: the one place that says which methods a path answers,
    /// which role a node needs for them and which read the store. Empty for a malformed room or
    /// an unknown path, which answer every method with their own error.
    public var endpoints: KeyValuePairs<HTTPMethod, Endpoint> {
        switch self {
        case .health, .ready, .metrics, .viewerPage, .videoPage, .script, .adminPage, .adminStats: [.GET: Endpoint(.anyNode)]
        case .comments: [.GET: Endpoint(.anyNode, readsStore: true), .POST: Endpoint(.ingest)]
        case .viewerSocket, .events: [.GET: Endpoint(.push)]
        case .room, .rooms, .replay: [.GET: Endpoint(.anyNode, readsStore: true)]
        case .bans: [.POST: Endpoint(.logic)]
        case .ban, .comment: [.DELETE: Endpoint(.logic)]
        case .settings: [.GET: Endpoint(.anyNode), .PUT: Endpoint(.logic), .PATCH: Endpoint(.logic)]
        case .words: [.PUT: Endpoint(.logic)]
        case .notices, .broadcast, .likes: [.POST: Endpoint(.ingest)]
        case .live: [.POST: Endpoint(.anyNode), .DELETE: Endpoint(.anyNode)]
        case .videoComments: [.POST: Endpoint(.ingest)]
        case .videoLikes: [.POST: Endpoint(.ingest)]
        case .videoComment: [.DELETE: Endpoint(.logic)]
        case .videoPublish: [.POST: Endpoint(.logic)]
        case .videoSegment: [.GET: Endpoint(.anyNode, readsStore: true)]
        case .invalidRoom, .invalidVideo, .unknown: [:]
        }
    }

    /// A path of each route, with `{room}`-style placeholders, as the protocol document names them.
    public static let documentedPaths: [(path: String, route: Route)] = {
        let room = RoomID("r1")!
        let video = VideoID("v1")!
        return [
            ("/healthz", .health), ("/readyz", .ready), ("/metrics", .metrics), ("/rooms/{room}", .viewerPage),
            ("/v1/rooms/{room}/comments", .comments(room)), ("/v1/rooms/{room}/ws", .viewerSocket(room)),
            ("/v1/rooms/{room}/events", .events(room)), ("/v1/rooms/{room}", .room(room)), ("/v1/rooms", .rooms),
            ("/v1/rooms/{room}/replay", .replay(room)), ("/v1/rooms/{room}/bans", .bans(room)),
            ("/v1/rooms/{room}/bans/{user}", .ban(room, user: "u")), ("/v1/rooms/{room}/comments/{id}", .comment(room, id: "c")),
            ("/v1/rooms/{room}/comments/{id}/likes", .likes(room, id: "c")),
            ("/v1/rooms/{room}/settings", .settings(room)), ("/v1/words", .words), ("/v1/rooms/{room}/notices", .notices(room)),
            ("/v1/broadcast", .broadcast), ("/v1/rooms/{room}/live", .live(room)), ("/admin", .adminPage), ("/client.js", .script(.client)),
            ("/admin.js", .script(.admin)), ("/screen.js", .script(.screen)), ("/playback.js", .script(.playback)), ("/v1/admin/stats", .adminStats), ("/videos/{video}", .videoPage),
            ("/v1/videos/{video}/comments", .videoComments(video)), ("/v1/videos/{video}/comments/{id}", .videoComment(video, id: "c")),
            ("/v1/videos/{video}/comments/{id}/likes", .videoLikes(video, id: "c")),
            ("/v1/videos/{video}/segments/{n}", .videoSegment(video, segment: "0")), ("/v1/videos/{video}/publish", .videoPublish(video)),
        ]
    }()
}
