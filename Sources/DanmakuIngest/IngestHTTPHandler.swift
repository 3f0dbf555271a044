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

    /// What the handlers answer from: the settings, the logic tier, the node's figures.
    private let node: APINode
    private var configuration: IngestConfiguration { node.configuration }
    /// Every endpoint, declared once.
    private let router = APIRouter.standard
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

    /// - Parameters:
    ///   - figures: what `GET /metrics`, `GET /readyz` and the dashboard's `GET /v1/admin/stats` tell.
    ///   - startEventStream: hands a connection to the push role as an event stream; nil without one.
    public init(
        configuration: IngestConfiguration, logic: LogicTier, figures: NodeFigures,
        startEventStream: (@Sendable (any Channel, EventStreamRequest) throws -> Void)? = nil
    ) {
        self.startEventStream = startEventStream
        self.node = APINode(configuration: configuration, logic: logic, figures: figures)
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !answeredLast else { return }
        switch unwrapInboundIn(data) {
        case .request(let head, let body):
            requestInFlight = true
            requestID = RequestHeaders.requestID(head.headers)
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
        // A connection kept for operators answers one request: held open, a few of them would
        // keep the real probes out.
        let keepAlive = RequestHeaders.keepsAlive(head) && !configuration.operatorRequestsOnly
        let endpoint: APIEndpoint
        let path: PathValues
        switch router.route(method: head.method, path: target.path) {
        case .refused(let error, let allowed):
            var headers = HTTPHeaders()
            if !allowed.isEmpty { headers.add(name: "Allow", value: allowed.map(\.rawValue).joined(separator: ", ")) }
            return respond(context: context, error: error, keepAlive: keepAlive, extraHeaders: headers)
        case .endpoint(let found, let values):
            (endpoint, path) = (found, values)
        }
        if let missing = missingRole(endpoint.role) { return respond(context: context, error: .roleNotServed(missing), keepAlive: keepAlive) }
        if configuration.operatorRequestsOnly, !endpoint.servesFullNodes {
            return respond(context: context, error: ConnectionRefusal.nodeFull, keepAlive: false)
        }
        let address = clientAddress(context: context, head: head)
        if endpoint.readsStore, let spent = node.logic.reads.admit(clientAddress: address) {
            return respond(context: context, error: spent, keepAlive: keepAlive)
        }
        let request = APIRequest(
            head: head, target: target, path: path, body: body, token: RequestHeaders.bearerToken(head.headers), clientAddress: address,
            eventLoop: context.eventLoop, node: node, requestID: requestID)
        switch endpoint.action {
        case .run(let handler):
            run(handler, request, principal: endpoint.principal, context: context, head: head, keepAlive: keepAlive)
        case .atOnceWhenItCan(let atOnce, let otherwise):
            switch atOnce(request) {
            case .now(let answer):
                respond(context: context, answer, keepAlive: keepAlive)
            case .later(let answer):
                answerWhenComplete(answer, context: context, keepAlive: keepAlive)
            case nil:
                run(otherwise, request, principal: endpoint.principal, context: context, head: head, keepAlive: keepAlive)
            }
        case .onLoop(let handler):
            answerWhenComplete(handler(request), context: context, keepAlive: keepAlive)
        case .eventStream:
            openEventStream(context: context, room: request.room, head: head, target: target, clientAddress: address)
        case .webSocket:
            // A valid upgrade never gets here; say what is wrong with this one.
            let problem: DanmakuError =
                if case .failure(let error) = target.since { error }
                else if case .failure(let error) = target.epoch { error }
                else if case .failure(let error) = target.wireFormat { error }
                else { RequestHeaders.upgradeProblem(head.headers) }
            respond(context: context, error: problem, keepAlive: keepAlive)
        }
    }

    /// Runs `handler` off the loop once the token makes the request `principal`'s, and answers
    /// with its outcome on the loop.
    private func run(
        _ handler: @escaping @Sendable (APIRequest) async -> APIAnswer, _ request: APIRequest, principal: Principal,
        context: ChannelHandlerContext, head: HTTPRequestHead, keepAlive: Bool
    ) {
        offLoop(context: context, head: head) { () -> APIAnswer in
            if let refusal = await APIRouter.refusal(of: request, for: principal) { return .failure(refusal) }
            return await handler(request)
        }.assumeIsolated().whenSuccess { [self] answer in
            respond(context: context, answer, keepAlive: keepAlive)
        }
    }

    /// Answers with `answer` once it completes. Its makers never fail it (their refusals are
    /// answers), but a failure must not leave the request unanswered, holding its connection and
    /// the next request behind it: it is answered 503.
    private func answerWhenComplete(_ answer: EventLoopFuture<APIAnswer>, context: ChannelHandlerContext, keepAlive: Bool) {
        answer.assumeIsolated().whenComplete { [self] outcome in
            switch outcome {
            case .success(let answer): respond(context: context, answer, keepAlive: keepAlive)
            case .failure(let error): respond(context: context, error: .busUnavailable(String(describing: error)), keepAlive: keepAlive)
            }
        }
    }

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
    private func openEventStream(context: ChannelHandlerContext, room: RoomID, head: HTTPRequestHead, target: RequestTarget, clientAddress address: String) {
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
                room: room, since: since, epoch: epoch, format: format, clientAddress: address,
                version: head.version, requestID: requestID))
        } catch {
            context.close(promise: nil)
        }
    }

    // MARK: Answers

    /// Runs `work` off the loop in the request's context (the trace its headers carry and its
    /// `X-Request-Id`, which log lines written meanwhile carry), for the loop to answer with its
    /// outcome. Made here, not for every request: only work off the loop runs in it.
    func offLoop<Outcome: Sendable>(
        context: ChannelHandlerContext, head: HTTPRequestHead, _ work: @escaping @Sendable () async -> Outcome
    ) -> EventLoopFuture<Outcome> {
        var traced = TraceHeaders.context(of: head.headers)
        traced.requestID = requestID
        let requestContext = traced
        return context.eventLoop.makeFutureWithTask { await ServiceContext.withValue(requestContext) { await work() } }
    }

    /// The answer of an endpoint: its response, or its error.
    func respond(context: ChannelHandlerContext, _ answer: APIAnswer, keepAlive: Bool) {
        switch answer {
        case .success(let response):
            respond(
                context: context, status: response.status, body: response.body, contentType: response.contentType,
                keepAlive: keepAlive, extraHeaders: response.headers)
        case .failure(let error):
            respond(context: context, error: error, keepAlive: keepAlive)
        }
    }

    /// Where the internal detail of a 503 goes: the client gets a fixed message.
    static let logger = Logger(label: "danmaku.ingest")

    func respond(context: ChannelHandlerContext, error: DanmakuError, keepAlive: Bool, extraHeaders: HTTPHeaders = [:]) {
        if let detail = error.internalDetail {
            Self.logger.warning(
                "request failed", metadata: ["code": "\(error.code)", "detail": "\(detail)", "request_id": "\(requestID)"])
        }
        var headers = error.httpHeaders
        headers.add(contentsOf: extraHeaders)
        respond(
            context: context, status: HTTPResponseStatus(statusCode: error.status), json: error.httpBody(requestID: requestID),
            keepAlive: keepAlive, extraHeaders: headers)
    }

    func respond(
        context: ChannelHandlerContext, status: HTTPResponseStatus, json body: ByteBuffer, keepAlive: Bool,
        extraHeaders: HTTPHeaders = [:]
    ) {
        respond(
            context: context, status: status, body: body, contentType: "application/json; charset=utf-8",
            keepAlive: keepAlive, extraHeaders: extraHeaders)
    }

    func respond(
        context: ChannelHandlerContext, status: HTTPResponseStatus, body: ByteBuffer, contentType: String, keepAlive: Bool,
        extraHeaders: HTTPHeaders = [:]
    ) {
        var headers = extraHeaders
        // A 304 is its head alone: no body, so neither the body's type nor its length (RFC 9110 §15.4.5).
        if status != .notModified {
            headers.add(name: "Content-Type", value: contentType)
            headers.add(name: "Content-Length", value: String(body.readableBytes))
        }
        headers.add(name: "Connection", value: keepAlive ? "keep-alive" : "close")
        headers.add(name: "X-Request-Id", value: requestID)
        let head = HTTPResponseHead(version: .http1_1, status: status, headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        // Before the end is written: writing it lets NIO's pipelining handler pass the next
        // request (or a parser error) to this handler at once, from inside this call.
        requestInFlight = false
        answeredLast = !keepAlive
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive {
            let channel = context.channel
            done.whenComplete { _ in channel.close(promise: nil) }
        }
    }
}
