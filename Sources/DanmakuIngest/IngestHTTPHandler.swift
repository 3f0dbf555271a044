// Danmaku — a live-stream bullet-comment service.

import DanmakuBus
import DanmakuCore
import DanmakuLogic
import DanmakuPush
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import Tracing

/// The HTTP API: routes each whole request (`RequestBodyCollector` in front of it bounds the body)
/// and answers in JSON.
///
/// Requests on one connection are answered in order (the pipelining helper in front of this
/// handler holds the next request until the current response ends); `RequestDeadline` closes
/// connections whose next request does not come in time.
public final class IngestHTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
    public typealias InboundIn = CollectedRequest
    public typealias OutboundOut = HTTPServerResponsePart

    private let configuration: IngestConfiguration
    let service: CommentService
    /// Bans and room settings, for the moderation endpoints.
    let moderation: any ModerationStore
    /// Streams and the archive, for replay; nil without one.
    let replay: (any ReplayStore)?
    /// Metrics, readiness, every node's viewers and the recent figures.
    private let figures: NodeFigures
    /// Hands the connection over to the push role as an event stream (nil: no push role here).
    private let startEventStream: (@Sendable (any Channel, EventStreamRequest) throws -> Void)?
    /// Whether a request is being answered (an error answer must not interleave with it).
    var requestInFlight = false
    /// Whether the connection's last answer (`Connection: close`) has been written: whatever
    /// NIO's pipelining handler still passes on (a request, a parser error on bytes past an
    /// HTTP/1.0 request) goes unanswered while the connection closes.
    var answeredLast = false
    /// The id of the request being answered (`X-Request-Id`, given or made): in its answer's
    /// headers, in an error body and in the log lines written for it. Requests are answered one
    /// at a time, in order, so one value serves the request under way.
    var requestID = ""
    /// The request's trace (from its headers) and id, for the work done off the loop to answer it.
    var requestContext = ServiceContext.topLevel

    /// - Parameters:
    ///   - figures: what `GET /metrics`, `GET /readyz` and the dashboard's `GET /v1/admin/stats` tell.
    public init(
        configuration: IngestConfiguration, service: CommentService, moderation: any ModerationStore, replay: (any ReplayStore)?,
        figures: NodeFigures, startEventStream: (@Sendable (any Channel, EventStreamRequest) throws -> Void)? = nil
    ) {
        self.startEventStream = startEventStream
        self.configuration = configuration
        self.service = service
        self.moderation = moderation
        self.replay = replay
        self.figures = figures
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !answeredLast else { return }
        switch unwrapInboundIn(data) {
        case .request(let head, let body):
            requestInFlight = true
            requestID = RequestHeaders.requestID(head.headers)
            requestContext = TraceHeaders.context(of: head.headers)
            requestContext.requestID = requestID
            handle(context: context, head: head, body: body)
        case .refused where requestInFlight:
            // An error answer must not interleave with the answer under way.
            context.close(promise: nil)
        case .refused(let error):
            requestID = RandomID.make()
            respond(context: context, error: error, keepAlive: false)
        }
    }

    // MARK: Routing

    private func handle(context: ChannelHandlerContext, head: HTTPRequestHead, body: ByteBuffer) {
        let target = RequestTarget(uri: head.uri)
        // NIO's parser reads no further request after one that may switch protocols: it is
        // answered and the connection closed, so the client knows to open another.
        let keepAlive = RequestHeaders.keepsAlive(head)
        let route = Route(path: target.path)
        let method = head.method
        let endpoints = route.endpoints
        if !endpoints.isEmpty {
            guard let endpoint = endpoints.first(where: { $0.key == method })?.value else { return respond(context: context, error: .methodNotAllowed, keepAlive: keepAlive) }
            if let missing = missingRole(endpoint.role) { return respond(context: context, error: .roleNotServed(missing), keepAlive: keepAlive) }
            if endpoint.readsStore, let spent = service.reads.admit(clientAddress: clientAddress(context: context, head: head)) {
                return respond(context: context, error: spent, keepAlive: keepAlive)
            }
        }
        let token = RequestHeaders.bearerToken(head.headers)
        switch route {
        case .health:
            respond(context: context, status: .ok, json: ByteBuffer(string: #"{"status":"ok"}"#), keepAlive: keepAlive)
        case .ready:
            if let reason = figures.unreadiness() {
                respond(context: context, error: .notReady(reason), keepAlive: keepAlive)
            } else {
                respond(context: context, status: .ok, json: ByteBuffer(string: #"{"status":"ready"}"#), keepAlive: keepAlive)
            }
        case .metrics:
            respond(
                context: context, status: .ok, body: ByteBuffer(bytes: figures.metricsText()),
                contentType: "text/plain; version=0.0.4; charset=utf-8", keepAlive: keepAlive)
        case .viewerPage, .videoPage, .adminPage:
            var headers = HTTPHeaders()
            for (name, value) in WebAssets.securityHeaders { headers.add(name: name, value: value) }
            respond(
                context: context, status: .ok, body: route == .adminPage ? WebAssets.adminPage : WebAssets.viewerPage,
                contentType: "text/html; charset=utf-8", keepAlive: keepAlive, extraHeaders: headers)
        case .script(let script):
            var headers = HTTPHeaders()
            headers.add(name: "X-Content-Type-Options", value: "nosniff")
            headers.add(name: "Cache-Control", value: "no-cache")
            respond(
                context: context, status: .ok, body: script.body,
                contentType: "text/javascript; charset=utf-8", keepAlive: keepAlive, extraHeaders: headers)
        case .adminStats:
            let loop = context.eventLoop
            let admin = AdminAPI(service: service, moderation: moderation, figures: figures, nodeName: configuration.nodeName)
            let since: Int64?
            switch RequestTarget(uri: head.uri).historySince {
            case .success(let value): since = value
            case .failure(let error): return respond(context: context, error: error, keepAlive: keepAlive)
            }
            answer(context: context, keepAlive: keepAlive) { await admin.stats(token: token, historySince: since, on: loop) }
        case .bans(let room):
            moderate(context: context, keepAlive: keepAlive) { await $0.ban(room: room, token: token, body: body) }
        case .ban(let room, let user):
            moderate(context: context, keepAlive: keepAlive) { await $0.unban(room: room, user: user, token: token) }
        case .comment(let room, let id):
            let address = clientAddress(context: context, head: head)
            let loop = context.eventLoop
            moderate(context: context, keepAlive: keepAlive) { await $0.retract(room: room, id: id, token: token, clientAddress: address, on: loop) }
        case .likes(let room, let id):
            let (address, loop, likes) = (clientAddress(context: context, head: head), context.eventLoop, LikesAPI(service: service))
            answer(context: context, keepAlive: keepAlive) { await likes.like(room: room, id: id, body: body, token: token, clientAddress: address, on: loop) }
        case .settings(let room) where method == .GET:
            moderate(context: context, keepAlive: keepAlive) { await $0.settings(room: room) }
        case .settings(let room):
            moderate(context: context, keepAlive: keepAlive) { await $0.updateSettings(room: room, token: token, body: body) }
        case .words:
            moderate(context: context, keepAlive: keepAlive) { await $0.replaceWords(token: token, body: body) }
        case .room(let room):
            let loop = context.eventLoop
            answer(context: context, keepAlive: keepAlive) { [rooms] in await rooms.stats(room: room, on: loop) }
        case .rooms:
            let loop = context.eventLoop
            answer(context: context, keepAlive: keepAlive) { [rooms] in await rooms.busiest(target: target, on: loop) }
        case .live(let room):
            let start = method == .POST
            answer(context: context, keepAlive: keepAlive) { [rooms] in await rooms.live(room: room, start: start, token: token) }
        case .replay(let room):
            answer(context: context, keepAlive: keepAlive) { [rooms] in await rooms.replay(room: room, target: target) }
        case .notices, .broadcast:
            postNotice(context: context, route: route, head: head, body: body)
        case .comments(let room) where method == .POST:
            postComment(context: context, room: room, head: head, body: body)
        case .comments(let room):
            let history = HistoryAPI(service: service, configuration: configuration).answer(room: room, target: target, on: context.eventLoop)
            history.assumeIsolated().whenSuccess { [self] answer in respond(context: context, answer, keepAlive: keepAlive) }
        case .events(let room):
            openEventStream(context: context, room: room, head: head, target: target)
        case .viewerSocket:
            // A valid upgrade never gets here; say what is wrong with this one.
            if case .failure(let error) = target.since {
                respond(context: context, error: error, keepAlive: keepAlive)
            } else if case .failure(let error) = target.epoch {
                respond(context: context, error: error, keepAlive: keepAlive)
            } else if case .failure(let error) = target.wireFormat {
                respond(context: context, error: error, keepAlive: keepAlive)
            } else {
                respond(context: context, error: RequestHeaders.upgradeProblem(head.headers), keepAlive: keepAlive)
            }
        case .videoComments, .videoComment, .videoLikes, .videoSegment, .videoPublish:
            video(context: context, route: route, head: head, body: body, keepAlive: keepAlive)
        case .invalidVideo:
            respond(context: context, error: .invalidVideo, keepAlive: keepAlive)
        case .invalidRoom:
            respond(context: context, error: .invalidRoom, keepAlive: keepAlive)
        case .unknown:
            respond(context: context, error: .notFound, keepAlive: keepAlive)
        }
    }

    /// The room endpoints, handed the stores they read.
    var rooms: RoomsAPI { RoomsAPI(service: service, moderationAPI: moderationAPI, replay: replay) }

    /// The moderation endpoints, handed the store they change.
    var moderationAPI: ModerationAPI { ModerationAPI(service: service, moderation: moderation) }

    /// Who the request counts as: the peer, or the client a trusted proxy names.
    func clientAddress(context: ChannelHandlerContext, head: HTTPRequestHead) -> String {
        configuration.clientAddress.key(peer: context.channel.remoteAddress, headers: head.headers)
    }

    /// The role this node lacks to serve an endpoint of `role`, or nil when it serves it.
    private func missingRole(_ role: ServingRole) -> String? {
        switch role {
        case .anyNode: nil
        case .ingest: configuration.acceptsPosts ? nil : "ingest"
        case .logic: configuration.acceptsPosts ? nil : "logic"
        case .push: configuration.servesViewers ? nil : "push"
        }
    }

    /// `GET /v1/rooms/{room}/events`: resumes after `Last-Event-ID` (or `?since=`), then hands the
    /// connection to the push role; it is no longer HTTP after this.
    private func openEventStream(context: ChannelHandlerContext, room: RoomID, head: HTTPRequestHead, target: RequestTarget) {
        let keepAlive = RequestHeaders.keepsAlive(head)
        guard let startEventStream, configuration.servesViewers else {
            return respond(context: context, error: .roleNotServed("push"), keepAlive: keepAlive)
        }
        var since: UInt64?
        var epoch: Int64?
        switch (target.since, target.epoch) {
        case (.failure(let error), _), (_, .failure(let error)): return respond(context: context, error: error, keepAlive: keepAlive)
        case (.success(let parsedSince), .success(let parsedEpoch)): (since, epoch) = (parsedSince, parsedEpoch)
        }
        let format: WireFormat
        switch target.wireFormat {
        case .failure(let error): return respond(context: context, error: error, keepAlive: keepAlive)
        case .success(let asked): format = asked
        }
        let lastEventIDs = head.headers["last-event-id"]
        if !lastEventIDs.isEmpty {
            // `EPOCH-SEQ` (or a bare `SEQ`), as the stream's ids are written; named `since` in errors.
            guard lastEventIDs.count == 1 else { return respond(context: context, error: ClientNumber.repeated("since"), keepAlive: keepAlive) }
            let parts = lastEventIDs[0].split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
            switch (ClientNumber.parse(parts[parts.count - 1], name: "since", in: ClientNumber.seqRange),
                    parts.count == 2 ? ClientNumber.parse(parts[0], name: "since", in: ClientNumber.epochRange).map { Int64($0) } : .success(epoch ?? 0)) {
            case (.failure(let error), _), (_, .failure(let error)): return respond(context: context, error: error, keepAlive: keepAlive)
            case (.success(let seq), .success(let idEpoch)): (since, epoch) = (seq, idEpoch)
            }
        }
        do {
            try startEventStream(context.channel, EventStreamRequest(
                room: room, since: since, epoch: epoch, format: format, clientAddress: clientAddress(context: context, head: head),
                version: head.version, requestID: requestID))
        } catch {
            context.close(promise: nil)
        }
    }
}
