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

    public init(endpoints: [APIEndpoint]) {
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
        for (pattern, endpoints) in paths {
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

    /// The room of a WebSocket upgrade request (`GET /v1/rooms/{room}/ws`), nil for any other.
    public func webSocketRoom(method: HTTPMethod, path: Substring) -> RoomID? {
        guard case .endpoint(let endpoint, let values) = route(method: method, path: path), case .webSocket = endpoint.action else { return nil }
        return values.room
    }
}
