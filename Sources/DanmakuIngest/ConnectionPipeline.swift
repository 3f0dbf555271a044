// Danmaku — a live-stream bullet-comment service.

import DanmakuCore
import DanmakuLogic
import DanmakuPush
import NIOCore
import NIOHTTP1
import NIOWebSocket

/// Builds each accepted connection's pipeline: HTTP/1.1 with the WebSocket upgrade on
/// `/v1/rooms/{room}/ws`, the JSON API otherwise, and event streams as answers of the API.
///
/// The server, the fuzz harness and the tests build connections with this, so they exercise the
/// same pipeline, hand-offs included.
public enum ConnectionPipeline {
    /// - Parameters:
    ///   - api: the HTTP API's settings, with `acceptsPosts`, `servesViewers` and `nodeName` set
    ///     for this node.
    ///   - hub: the push role's hub; nil on a node without the push role.
    public static func configure(
        channel: any Channel, api: IngestConfiguration, push: PushConfiguration, logic: LogicTier, hub: PushHub?,
        figures: NodeFigures
    ) throws {
        // Answers a client has not read count against this bound (`AnswerBackpressure`); a viewer's
        // connection gets its own when it becomes one.
        try channel.syncOptions?.setOption(
            .writeBufferWaterMark, value: .init(low: api.maxUnwrittenAnswerBytes / 2, high: api.maxUnwrittenAnswerBytes))
        var startEventStream: (@Sendable (any Channel, EventStreamRequest) throws -> Void)?
        if let hub {
            startEventStream = { channel, request in
                try setViewerSocketOptions(channel, push: push)
                try ViewerPipeline.startEventStream(on: channel, request, hub: hub)
            }
        }
        let http = NIOLoopBound(HTTPAPIHandlers(configuration: api, api: IngestHTTPHandler(
            configuration: api, logic: logic, figures: figures, startEventStream: startEventStream)), eventLoop: channel.eventLoop)
        let upgrader = ViewerSocketUpgrader(
            shouldUpgrade: { channel, head in
                // Refusing (nil) passes the request on to the HTTP handler, which explains why.
                let target = RequestTarget(uri: head.uri)
                guard hub != nil, !api.operatorRequestsOnly, APIRouter.standard.webSocketRoom(method: head.method, path: target.path) != nil, case .success = target.since, case .success = target.epoch,
                      case .success = target.wireFormat,
                      RequestHeaders.isValidWebSocketKey(head.headers) else {
                    return channel.eventLoop.makeSucceededFuture(nil)
                }
                http.value.removeBeforeUpgrade(from: channel.pipeline.syncOperations)
                var headers = HTTPHeaders()
                if negotiatesCompression(head, push: push) {
                    headers.add(name: "Sec-WebSocket-Extensions", value: PerMessageDeflate.response)
                }
                return channel.eventLoop.makeSucceededFuture(headers)
            },
            upgradePipelineHandler: { channel, head in
                channel.eventLoop.makeCompletedFuture {
                    let target = RequestTarget(uri: head.uri)
                    guard let hub, let room = APIRouter.standard.webSocketRoom(method: head.method, path: target.path) else {
                        throw NIOWebSocketUpgradeError.unsupportedWebSocketTarget
                    }
                    let since = (try? target.since.get()) ?? nil
                    let epoch = (try? target.epoch.get()) ?? nil
                    try configureViewer(
                        channel: channel, room: room, since: since, epoch: epoch, compression: negotiatesCompression(head, push: push),
                        push: push, hub: hub, token: target.query["token"], format: (try? target.wireFormat.get()) ?? .full,
                        clientAddress: api.clientAddress.key(peer: channel.remoteAddress, headers: head.headers))
                }
            })
        try channel.pipeline.syncOperations.configureHTTPServerPipeline(
            withServerUpgrade: (upgraders: [upgrader], completionHandler: { context in
                http.value.remove(from: context.pipeline.syncOperations)
            }),
            // Parser errors are answered by the ingest handler, with a JSON body and a close.
            withErrorHandling: false)
        try http.value.add(to: channel.pipeline.syncOperations)
    }

    /// Bounded unwritten bytes: past the high mark the channel turns unwritable, and the viewer is
    /// closed as a slow consumer instead of buffering without limit. And a TCP user timeout of
    /// the idle timeout, so the kernel closes a viewer that stops acknowledging what it is sent.
    private static func setViewerSocketOptions(_ channel: any Channel, push: PushConfiguration) throws {
        try channel.syncOptions?.setOption(
            .writeBufferWaterMark,
            value: .init(low: push.maxUnwrittenBytes / 2, high: push.maxUnwrittenBytes))
        if let sendBuffer = push.socketSendBufferBytes {
            try channel.syncOptions?.setOption(.socketOption(.so_sndbuf), value: SocketOptionValue(sendBuffer))
        }
        // A viewer whose TCP stops acknowledging is closed by the kernel (`ViewerSocketLiveness`).
        if let (option, milliseconds) = ViewerSocketLiveness.userTimeout(push.idleTimeout) {
            try channel.syncOptions?.setOption(option, value: milliseconds)
        }
    }

    /// Whether the upgrade request offers permessage-deflate in a form the server accepts.
    private static func negotiatesCompression(_ head: HTTPRequestHead, push: PushConfiguration) -> Bool {
        push.compression && PerMessageDeflate.accepts(head.headers["Sec-WebSocket-Extensions"])
    }

    /// Sets the viewer socket's bounds and adds the viewer's handlers.
    private static func configureViewer(
        channel: any Channel, room: RoomID, since: UInt64?, epoch: Int64?, compression: Bool, push: PushConfiguration, hub: PushHub,
        token: String?, format: WireFormat, clientAddress: String
    ) throws {
        try setViewerSocketOptions(channel, push: push)
        try ViewerPipeline.addHandlers(
            to: channel, room: room, since: since, epoch: epoch, clientAddress: clientAddress,
            compression: compression, hub: hub, token: token, format: format)
    }
}
