// Danmaku — a live-stream bullet-comment service.

import NIOCore
import NIOHTTP1

/// The HTTP API's part of a connection's pipeline, behind NIO's HTTP server handlers: the
/// head-size limit and the pipelining depth right after the decoder (so upgrade requests are
/// bound too), then the answers' backpressure, the request deadline, the body collector and the
/// API handler at the end.
///
/// The server and the fuzz harness build their pipelines from this one description.
public struct HTTPAPIHandlers {
    public let headLimit: HeadSizeLimit
    public let depthLimit: PipelineDepthLimit
    public let backpressure: AnswerBackpressure
    public let deadline: RequestDeadline
    public let collector: RequestBodyCollector
    public let api: IngestHTTPHandler

    public init(configuration: IngestConfiguration, api: IngestHTTPHandler) {
        self.headLimit = HeadSizeLimit(maxHeaderBytes: configuration.maxHeaderBytes)
        self.depthLimit = PipelineDepthLimit(
            maxInFlight: configuration.maxPipelinedRequests, maxParsed: configuration.maxParsedRequests)
        self.backpressure = AnswerBackpressure()
        self.deadline = RequestDeadline(timeout: configuration.idleTimeout)
        self.collector = RequestBodyCollector(
            maxBodyBytes: configuration.maxBodyBytes, maxFileBodyBytes: configuration.maxFileBodyBytes, maxHeaderBytes: configuration.maxHeaderBytes)
        self.api = api
    }

    /// Adds the handlers to a pipeline that already has NIO's HTTP server handlers.
    public func add(to pipeline: ChannelPipeline.SynchronousOperations) throws {
        let decoder = try pipeline.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self)
        try pipeline.addHandler(headLimit, position: .after(decoder))
        try pipeline.addHandler(depthLimit, position: .after(headLimit))
        try pipeline.addHandlers(backpressure, deadline, collector, api)
    }

    /// Removes the handlers that stand between NIO's decoder and its upgrade handler, once an
    /// upgrade is accepted: when the upgrade takes the decoder out, the decoder hands the bytes it
    /// holds behind the upgrade request to the handler after it as raw bytes, and only NIO's
    /// pipelining handler (which holds them for the upgrade handler to pass to the new protocol)
    /// takes those; a handler of HTTP parts would trap on them.
    public func removeBeforeUpgrade(from pipeline: ChannelPipeline.SynchronousOperations) {
        for handler in [headLimit, depthLimit] as [any RemovableChannelHandler] {
            pipeline.removeHandler(handler, promise: nil)
        }
    }

    /// Removes the rest, when the connection has stopped being HTTP (a WebSocket upgrade).
    public func remove(from pipeline: ChannelPipeline.SynchronousOperations) {
        for handler in [backpressure, deadline, collector, api] as [any RemovableChannelHandler] {
            pipeline.removeHandler(handler, promise: nil)
        }
    }
}
