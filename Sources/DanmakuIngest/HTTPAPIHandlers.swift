// Danmaku — a live-stream bullet-comment service.

import NIOCore
import NIOHTTP1

/// The HTTP API's part of a connection's pipeline, behind NIO's HTTP server handlers: the
/// head-size limit right after the decoder (so upgrade requests are bound too), then the request
/// deadline, the body collector and the API handler at the end.
///
/// The server and the fuzz harness build their pipelines from this one description.
public struct HTTPAPIHandlers {
    public let headLimit: HeadSizeLimit
    public let deadline: RequestDeadline
    public let collector: RequestBodyCollector
    public let api: IngestHTTPHandler

    public init(configuration: IngestConfiguration, api: IngestHTTPHandler) {
        self.headLimit = HeadSizeLimit(maxHeaderBytes: configuration.maxHeaderBytes)
        self.deadline = RequestDeadline(timeout: configuration.idleTimeout)
        self.collector = RequestBodyCollector(maxBodyBytes: configuration.maxBodyBytes)
        self.api = api
    }

    /// Adds the handlers to a pipeline that already has NIO's HTTP server handlers.
    public func add(to pipeline: ChannelPipeline.SynchronousOperations) throws {
        let decoder = try pipeline.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self)
        try pipeline.addHandler(headLimit, position: .after(decoder))
        try pipeline.addHandlers(deadline, collector, api)
    }

    /// Removes them, when the connection stops being HTTP (a WebSocket upgrade).
    public func remove(from pipeline: ChannelPipeline.SynchronousOperations) {
        for handler in [headLimit, deadline, collector, api] as [any RemovableChannelHandler] {
            pipeline.removeHandler(handler, promise: nil)
        }
    }
}
