// Danmaku — a live-stream bullet-comment service.

import DanmakuCore
import NIOCore
import NIOHTTP1
import Synchronization

/// File bodies being received by this node, at most `limit` at once: a file's bound (16 MiB) is
/// granted before the request's token can be checked, so without a node-wide bound many
/// connections could each hold one.
public final class FileBodySlots: Sendable {
    /// The process's slots: two file bodies at once.
    public static let shared = FileBodySlots(limit: 2)
    public let limit: Int
    private let taken = Mutex(0)

    public init(limit: Int) { self.limit = limit }

    func acquire() -> Bool {
        taken.withLock { taken in
            guard taken < limit else { return false }
            taken += 1
            return true
        }
    }

    func release() {
        taken.withLock { $0 = max(0, $0 - 1) }
    }
}

/// A whole HTTP request, or why one cannot be read.
public enum CollectedRequest {
    /// The head and the complete body.
    case request(HTTPRequestHead, ByteBuffer)
    /// A request that is not read to its end (a body over the limit, bytes that are not HTTP):
    /// answer `error` and close, since the rest of the byte stream cannot be trusted.
    case refused(DanmakuError)
}

/// Collects each request's body (at most `maxBodyBytes`, or `maxFileBodyBytes` for an endpoint
/// whose body is a file) and passes on one `CollectedRequest` per request, so the API handler sees
/// whole requests. The endpoint is looked up only for a body past `maxBodyBytes`, so the posts'
/// path pays nothing for the files' bound.
///
/// A body over the limit, by its `Content-Length` or as it arrives, is refused at once (413) and
/// the rest of it is dropped; NIO's parser errors become a refusal once per connection (431 for a
/// head over its bound, 400 otherwise). A file's bound is granted only to a request that carries
/// a bearer token (401 `missing_token` at its head otherwise), and to at most
/// `FileBodySlots.limit` requests of the node at once (503 `files_busy` past them).
public final class RequestBodyCollector: ChannelInboundHandler, RemovableChannelHandler {
    public typealias InboundIn = HTTPServerRequestPart
    public typealias InboundOut = CollectedRequest

    private enum State {
        case idle
        /// A request being read, and its body's bound once it has been looked up.
        case receiving(HTTPRequestHead, ByteBuffer, bound: Int?)
        /// The request was refused; what is left of it is dropped.
        case discarding
    }

    private let maxBodyBytes: Int
    /// The bound of a file body (`APIBody.isFile`).
    private let maxFileBodyBytes: Int
    /// The head bound named in a `431` (`HeadSizeLimit`, or NIO's parser past its own ceiling).
    private let maxHeaderBytes: Int
    private var state = State.idle
    /// This connection holds one of the node's file slots (until its request is read or refused).
    private var holdsFileSlot = false
    private let fileSlots: FileBodySlots

    /// - Parameter fileSlots: the node's file slots (one set per process; tests bring their own).
    public init(
        maxBodyBytes: Int, maxFileBodyBytes: Int = IngestConfiguration().maxFileBodyBytes, maxHeaderBytes: Int = IngestConfiguration().maxHeaderBytes,
        fileSlots: FileBodySlots = .shared
    ) {
        self.fileSlots = fileSlots
        self.maxBodyBytes = maxBodyBytes
        self.maxFileBodyBytes = maxFileBodyBytes
        self.maxHeaderBytes = maxHeaderBytes
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch (unwrapInboundIn(data), state) {
        case (.head(let head), _):
            // Content-Length is range-checked by Int's own parser: a huge value is nil, not a trap,
            // and NIO's parser has already refused a malformed one.
            var bound: Int?
            if let length = head.headers.first(name: "content-length").flatMap(Int.init), length > maxBodyBytes {
                let limit: Int
                switch self.bound(of: head) {
                case .success(let value): limit = value
                case .failure(let error): return refuse(context: context, error)
                }
                guard length <= limit else {
                    refuse(context: context, .bodyTooLarge(max: limit))
                    return
                }
                bound = limit
            }
            state = .receiving(head, context.channel.allocator.buffer(capacity: 0), bound: bound)
        case (.body(var chunk), .receiving(let head, var body, var bound)):
            if body.readableBytes + chunk.readableBytes > maxBodyBytes {
                let limit: Int
                if let bound {
                    limit = bound
                } else {
                    switch self.bound(of: head) {
                    case .success(let value): limit = value
                    case .failure(let error): return refuse(context: context, error)
                    }
                }
                bound = limit
                guard body.readableBytes + chunk.readableBytes <= limit else {
                    refuse(context: context, .bodyTooLarge(max: limit))
                    return
                }
            }
            // Out of the state while written to, so the buffer is not shared (and copied).
            state = .idle
            body.writeBuffer(&chunk)
            state = .receiving(head, body, bound: bound)
        case (.end, .receiving(let head, let body, _)):
            state = .idle
            releaseFileSlot()
            context.fireChannelRead(wrapInboundOut(.request(head, body)))
        case (.end, .discarding):
            state = .idle
        case (.body, _), (.end, .idle):
            break
        }
    }

    /// Unparseable HTTP is refused; other errors pass on (NIO reports a refused upgrade this way
    /// before handing the request itself on).
    public func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard error is HTTPParserError else {
            context.fireErrorCaught(error)
            return
        }
        // Already refused: the parser reports the rest of a bad request again, and the close
        // that follows the first answer ends the connection.
        if case .discarding = state { return }
        if case .headerOverflow = error as? HTTPParserError {
            refuse(context: context, .headersTooLarge(max: maxHeaderBytes))
        } else {
            refuse(context: context, .malformedRequest)
        }
    }

    /// The body bound of the endpoint `head` asks for: a file's only with a bearer token and a
    /// free file slot (taken here, held until the request is read or refused).
    private func bound(of head: HTTPRequestHead) -> Result<Int, DanmakuError> {
        guard case .endpoint(let endpoint, _) = APIRouter.standard.route(method: head.method, path: RequestTarget(uri: head.uri).path),
              endpoint.body?.isFile == true
        else { return .success(maxBodyBytes) }
        // Files are staff's: a request without a token is answered before its body is read.
        guard head.headers.first(name: "authorization")?.lowercased().hasPrefix("bearer ") == true else { return .failure(.missingToken) }
        if !holdsFileSlot {
            guard fileSlots.acquire() else { return .failure(.filesBusy) }
            holdsFileSlot = true
        }
        return .success(max(maxBodyBytes, maxFileBodyBytes))
    }

    private func releaseFileSlot() {
        if holdsFileSlot {
            holdsFileSlot = false
            fileSlots.release()
        }
    }

    private func refuse(context: ChannelHandlerContext, _ error: DanmakuError) {
        state = .discarding
        releaseFileSlot()
        context.fireChannelRead(wrapInboundOut(.refused(error)))
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        releaseFileSlot()
    }

    public func channelInactive(context: ChannelHandlerContext) {
        releaseFileSlot()
        context.fireChannelInactive()
    }
}
