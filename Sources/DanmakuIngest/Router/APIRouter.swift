// Danmaku — a live-stream bullet-comment service.

import DanmakuCore
import NIOHTTP1

/// Finds the endpoint a request asks for among the declared ones (`APIRoutes.all`): the one
/// place that knows paths and methods. Dispatch, the role and budget checks, the WebSocket and
/// event-stream matching and the API document all read the same declarations.
public struct APIRouter: Sendable {
    public let endpoints: [APIEndpoint]

    /// The endpoints grouped by path pattern, in declaration order.
    let paths: [(pattern: PathPattern, endpoints: [APIEndpoint])]
    /// `paths` by their number of segments: a request's path is matched only against patterns
    /// it could match.
    private let pathsBySegmentCount: [Int: [(pattern: PathPattern, endpoints: [APIEndpoint])]]

    public init(endpoints: [APIEndpoint]) {
        for endpoint in endpoints {
            // A token is checked off the loop (it may ask the store): an endpoint answered on the
            // loop is one anyone may call.
            if case .onLoop = endpoint.action {
                precondition(endpoint.principal == .anyone, "\(endpoint.method) \(endpoint.path) runs on the loop but needs a token")
            }
            if case .atOnceWhenItCan = endpoint.action {
                // `refusal(of:for:)` passes these without a token check, so the loop need not wait for one.
                precondition(
                    [.anyone, .poster].contains(endpoint.principal),
                    "\(endpoint.method) \(endpoint.path) may answer on the loop but needs staff")
            }
        }
        self.endpoints = endpoints
        var paths: [(pattern: PathPattern, endpoints: [APIEndpoint])] = []
        for endpoint in endpoints {
            if let index = paths.firstIndex(where: { $0.pattern == endpoint.path }) {
                precondition(!paths[index].endpoints.contains { $0.method == endpoint.method }, "\(endpoint.method) \(endpoint.path) declared twice")
                paths[index].endpoints.append(endpoint)
            } else {
                paths.append((endpoint.path, [endpoint]))
            }
        }
        self.paths = paths
        self.pathsBySegmentCount = Dictionary(grouping: paths, by: \.pattern.segmentCount)
    }

    /// The server's API.
    public static let standard = APIRouter(endpoints: APIRoutes.all)

    /// Where a request goes.
    public enum Routing: Sendable {
        case endpoint(APIEndpoint, PathValues)
        /// No endpoint: the error, and for `405` the methods the path has (`Allow`).
        case refused(DanmakuError, allowed: [HTTPMethod])
    }

    /// The endpoint for `method` on `path` (without its query): `404 not_found` for a path no
    /// endpoint has, `405 method_not_allowed` (with the path's methods) for a method it lacks, and
    /// the parameter's error (`invalid_room`, `invalid_video`) for a malformed value.
    public func route(method: HTTPMethod, path: Substring) -> Routing {
        guard path.first == "/" else { return .refused(.notFound, allowed: []) }
        let segments = Array(path.split(separator: "/", omittingEmptySubsequences: false).dropFirst())
        for (pattern, endpoints) in pathsBySegmentCount[segments.count] ?? [] {
            guard let raw = pattern.match(segments) else { continue }
            let values: PathValues
            switch PathValues.check(raw) {
            case .success(let checked): values = checked
            case .failure(let error): return .refused(error, allowed: [])
            }
            guard let endpoint = endpoints.first(where: { $0.method == method }) else {
                return .refused(.methodNotAllowed, allowed: endpoints.map(\.method))
            }
            return .endpoint(endpoint, values)
        }
        return .refused(.notFound, allowed: [])
    }

    /// Whether the request's token makes it the caller `principal` asks for: the refusal when it
    /// does not, checked before the handler runs, so that an endpoint declared for staff cannot be
    /// reached by anyone else whatever its handler forgets. (Handlers check more where the rule
    /// is finer, such as an author recalling their own comment.)
    static func refusal(of request: APIRequest, for principal: Principal) async -> DanmakuError? {
        let moderators = request.node.logic.moderationActions
        switch principal {
        case .anyone, .poster:
            return nil
        case .staffOfRoom:
            // A video's staff are those of the room it belongs to.
            let scope = request.path.room ?? request.path.video?.scope
            if case .failure(let error) = await moderators.moderator(token: request.token, room: scope) { return error }
            return nil
        case .moderator:
            if case .failure(let error) = await moderators.moderator(token: request.token, room: nil) { return error }
            return nil
        case .admin:
            switch await moderators.moderator(token: request.token, room: nil) {
            case .failure(let error): return error
            case .success(let caller): return caller.role == "admin" ? nil : .notAModerator
            }
        }
    }

    /// The room of a WebSocket upgrade request (`GET /v1/rooms/{room}/ws`), nil for any other.
    public func webSocketRoom(method: HTTPMethod, path: Substring) -> RoomID? {
        guard case .endpoint(let endpoint, let values) = route(method: method, path: path), case .webSocket = endpoint.action else { return nil }
        return values.room
    }
}
