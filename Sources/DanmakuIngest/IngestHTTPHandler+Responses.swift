// Danmaku — a live-stream bullet-comment service.

import DanmakuCore
import Logging
import NIOCore
import NIOHTTP1
import Tracing

/// Answers: JSON bodies with their status and headers, errors with their code, and work done
/// off the loop (moderation, stores) answered when it completes.
extension IngestHTTPHandler {
    /// Runs a moderation call off the loop and answers with its JSON or its error.
    func moderate(
        context: ChannelHandlerContext, keepAlive: Bool, _ call: @escaping @Sendable (ModerationAPI) async -> ModerationAPI.Answer
    ) {
        let api = moderationAPI
        answer(context: context, keepAlive: keepAlive) { await call(api) }
    }

    /// Runs `work` off the loop in the request's context (its trace and `X-Request-Id`, which log
    /// lines written meanwhile carry), for the loop to answer with its outcome.
    func offLoop<Outcome: Sendable>(
        context: ChannelHandlerContext, _ work: @escaping @Sendable () async -> Outcome
    ) -> EventLoopFuture<Outcome> {
        let requestContext = self.requestContext
        return context.eventLoop.makeFutureWithTask { await ServiceContext.withValue(requestContext) { await work() } }
    }

    /// Runs `work` off the loop and answers 200 with its JSON, or with its error.
    func answer(context: ChannelHandlerContext, keepAlive: Bool, _ work: @escaping @Sendable () async -> ModerationAPI.Answer) {
        offLoop(context: context, work).assumeIsolated().whenSuccess { [self] answer in
            respond(context: context, answer, keepAlive: keepAlive)
        }
    }

    /// 200 with the answer's JSON, or its error.
    func respond(context: ChannelHandlerContext, _ answer: ModerationAPI.Answer, keepAlive: Bool) {
        switch answer {
        case .success(let body): respond(context: context, status: .ok, json: body, keepAlive: keepAlive)
        case .failure(let error): respond(context: context, error: error, keepAlive: keepAlive)
        }
    }

    func encode(_ value: some Encodable) -> ByteBuffer {
        // These shapes always encode; an empty object is a safe fallback that never traps.
        (try? WireCodec.encode(value)) ?? ByteBuffer(string: "{}")
    }

    /// Where the internal detail of a 503 goes: the client gets a fixed message.
    static let logger = Logger(label: "danmaku.ingest")

    func respond(context: ChannelHandlerContext, error: DanmakuError, keepAlive: Bool) {
        if let detail = error.internalDetail {
            Self.logger.warning(
                "request failed", metadata: ["code": "\(error.code)", "detail": "\(detail)", "request_id": "\(requestID)"])
        }
        respond(
            context: context, status: HTTPResponseStatus(statusCode: error.status), json: error.httpBody(requestID: requestID),
            keepAlive: keepAlive, extraHeaders: error.httpHeaders)
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
