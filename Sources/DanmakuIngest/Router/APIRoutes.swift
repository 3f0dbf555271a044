// Danmaku — a live-stream bullet-comment service.

/// Every endpoint of the HTTP API, declared once: adding an endpoint is one entry in its area's list
/// and its handler. The messages of the WebSocket and of event streams are in docs/PROTOCOL.md.
///
/// Each area declares its own endpoints (`OperatorRoutes`, `PageRoutes`, `CommentRoutes`,
/// `RoomRoutes`, `ModerationRoutes`, `VideoRoutes`); this is their one list. The order is the
/// declaration order the router groups paths in and lists a path's methods in (`Allow`).
public enum APIRoutes {
    /// Every endpoint, in declaration order.
    public static let all: [APIEndpoint] =
        OperatorRoutes.health + PageRoutes.all + CommentRoutes.reading + RoomRoutes.all + ModerationRoutes.staff + CommentRoutes.posting
        + VideoRoutes.all + ModerationRoutes.reports + OperatorRoutes.dashboard
}
