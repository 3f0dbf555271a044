// Danmaku — a live-stream bullet-comment service.

import DanmakuCore
import Logging
import NIOCore
import NIOHTTP1
import Tracing

/// Answers: an endpoint's response or error, written in order, and work done off the loop in the
/// request's context.
extension IngestHTTPHandler {
    /// Runs `work` off the loop in the request's context (its trace and `X-Request-Id`, which log
    /// lines written meanwhile carry), for the loop to answer with its outcome.
    func offLoop<Outcome: Sendable>(
        context: ChannelHandlerContext, _ work: @escaping @Sendable () async -> Outcome
    ) -> EventLoopFuture<Outcome> {
        let requestContext = self.requestContext
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
