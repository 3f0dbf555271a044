// Danmaku — a live-stream bullet-comment service.

import DanmakuCore
import DanmakuLogic
import NIOCore
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

/// Who may call an endpoint, as its handler checks the bearer token (`DanmakuClaims`).
public enum Principal: String, Sendable {
    /// No token needed.
    case anyone
    /// A viewer's token when the node has a JWT secret; in open mode anyone, anonymously.
    case poster
    /// A streamer or moderator of the room, or an admin.
    case staffOfRoom
    /// A moderator without a room scope, or an admin.
    case moderator
    /// An admin.
    case admin
}

/// What an endpoint does with a request.
public enum EndpointAction: Sendable {
    /// Runs off the event loop, in the request's context, and answers with its outcome.
    case run(@Sendable (APIRequest) async -> APIAnswer)
    /// Answers on the connection's loop, without a task hop: for what is cheap and for the reads a
    /// reconnecting crowd makes (history).
    case onLoop(@Sendable (APIRequest) -> EventLoopFuture<APIAnswer>)
    /// Answers on the connection's loop when `atOnce` can (an answer now, or a future one), and
    /// otherwise (nil, having done nothing) runs `otherwise` as `run` does: for a post the node
    /// can store in its own memory (`ImmediatePosting`) or with one Redis call (`LoopPosting`).
    /// Only for endpoints whose principal is `anyone` or `poster`, whose token the handler itself
    /// checks.
    case atOnceWhenItCan(@Sendable (APIRequest) -> LoopAnswer?, otherwise: @Sendable (APIRequest) async -> APIAnswer)
    /// Hands the connection to the push role as a Server-Sent Events stream.
    case eventStream
    /// A WebSocket upgrade, which the pipeline's upgrader takes before the router sees it: a
    /// request that reaches the router is not a valid upgrade, and is told why.
    case webSocket
}

/// An answer made on the connection's loop: ready now, or when a future on that loop completes
/// (it never fails).
public enum LoopAnswer: Sendable {
    case now(APIAnswer)
    case later(EventLoopFuture<APIAnswer>)
}

/// One method of one path: everything the server and the API document know about it, declared
/// once (`APIRoutes.all`).
public struct APIEndpoint: Sendable {
    public var method: HTTPMethod
    public var path: PathPattern
    /// The role a node needs to serve it (`404 role_not_served` otherwise).
    public var role: ServingRole
    /// Who may call it.
    public var principal: Principal
    /// Whether it reads the store, which is budgeted per client address (`ReadBudget`).
    public var readsStore: Bool
    /// One line for the API document.
    public var summary: String
    public var query: [APIParameter]
    public var headers: [APIParameter]
    /// The request body, when it takes one.
    public var body: APIBody?
    /// The answers it gives when it succeeds.
    public var answers: [APIAnswerSpec]
    /// The errors its handler may answer, besides those every endpoint of its kind may
    /// (`APIRouter.commonErrors`).
    public var errors: [APIErrorSpec]
    /// What may follow its success (the API document's links).
    public var links: [APILink]
    /// Whether a full node answers it on a connection kept for operators (health checks and
    /// metrics: `ConnectionLimiter.acquireOperatorSlot`); others get `503 node_full` there.
    public var servesFullNodes: Bool
    public var action: EndpointAction

    public init(
        _ method: HTTPMethod, _ path: String, role: ServingRole = .anyNode, principal: Principal = .anyone, readsStore: Bool = false,
        summary: String, query: [APIParameter] = [], headers: [APIParameter] = [], body: APIBody? = nil,
        answers: [APIAnswerSpec], links: [APILink] = [], errors: [APIErrorSpec] = [], servesFullNodes: Bool = false,
        action: EndpointAction
    ) {
        self.method = method
        self.path = PathPattern(path)
        self.role = role
        self.principal = principal
        self.readsStore = readsStore
        self.summary = summary
        self.query = query
        self.headers = headers
        self.body = body
        self.answers = answers
        self.errors = errors
        self.links = links
        self.servesFullNodes = servesFullNodes
        self.action = action
    }
}

/// A request as a handler gets it: its path's checked values, its query, headers and body, and
/// what it may use to answer.
public struct APIRequest: Sendable {
    public var head: HTTPRequestHead
    public var target: RequestTarget
    public var path: PathValues
    public var body: ByteBuffer
    /// `Authorization: Bearer …`, as sent.
    public var token: String?
    /// Who the request counts as (the peer, or the client a trusted proxy names).
    public var clientAddress: String
    public var eventLoop: any EventLoop
    /// The node's parts the handlers use.
    public var node: APINode
    /// The request's `X-Request-Id`.
    public var requestID: String

    /// The room of a `{room}` path (declared, so present).
    var room: RoomID { path.room! }
    /// The video of a `{video}` path (declared, so present).
    var video: VideoID { path.video! }
}

/// The node's parts that handlers answer from.
public struct APINode: Sendable {
    public var configuration: IngestConfiguration
    /// The logic tier, in its parts.
    public var logic: LogicTier
    public var figures: NodeFigures

    public init(configuration: IngestConfiguration, logic: LogicTier, figures: NodeFigures) {
        self.configuration = configuration
        self.logic = logic
        self.figures = figures
    }
}

/// A successful answer: its status, body and headers.
public struct APIResponse: Sendable {
    public var status: HTTPResponseStatus
    public var body: ByteBuffer
    public var contentType: String
    public var headers: HTTPHeaders

    public init(status: HTTPResponseStatus = .ok, body: ByteBuffer, contentType: String = APIResponse.json, headers: HTTPHeaders = [:]) {
        self.status = status
        self.body = body
        self.contentType = contentType
        self.headers = headers
    }

    public static let json = "application/json; charset=utf-8"

    /// A JSON answer.
    public static func json(_ body: ByteBuffer, status: HTTPResponseStatus = .ok, headers: HTTPHeaders = [:]) -> APIResponse {
        APIResponse(status: status, body: body, headers: headers)
    }
}

/// What a handler answers: a response, or an error with its status.
public typealias APIAnswer = Result<APIResponse, DanmakuError>
