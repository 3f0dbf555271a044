// Danmaku — a live-stream bullet-comment service.

import NIOCore
import NIOWebSocket

/// Where a viewer's frames leave its pipeline, and how its connection ends: a WebSocket
/// (`FrameOutlet`) or a Server-Sent Events stream (`EventStreamOutlet`). `ViewerHandler` writes
/// every frame through the one its pipeline has.
protocol ViewerOutlet: AnyObject {
    /// Writes a complete server frame. For a batch, `seq` is the seq it brings the reader to, in
    /// the numbering of `epoch`.
    func send(_ frame: ByteBuffer, batchThrough seq: UInt64?, epoch: Int64)
    /// Writes a complete server frame without flushing: it leaves with the next `send`, in the
    /// same system call.
    func writeBeforeNext(_ frame: ByteBuffer)
    /// Whether the client answers pings, so that its silence past the idle timeout means it is gone.
    var answersPings: Bool { get }
    /// Ends the connection, telling the client `reason`.
    func close(code: WebSocketErrorCode, reason: String)
}

/// Marks the point at the head of a viewer's pipeline where complete frames are written.
///
/// Batches are already complete frames, encoded once for all of a room's viewers, and there is no
/// frame encoder in the pipeline (`ViewerSocketUpgrader` installs none): `ViewerHandler` and
/// `ProtocolGuard` write through this handler's context, next to the socket, so the bytes go out
/// untouched by any handler added after it.
public final class FrameOutlet: ChannelOutboundHandler, RemovableChannelHandler {
    public typealias OutboundIn = ByteBuffer
    public typealias OutboundOut = ByteBuffer

    private var context: ChannelHandlerContext?

    public init() {}

    public func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }
}

extension FrameOutlet: ViewerOutlet {
    func send(_ frame: ByteBuffer, batchThrough seq: UInt64?, epoch: Int64) {
        context?.writeAndFlush(wrapOutboundOut(frame), promise: nil)
    }

    func writeBeforeNext(_ frame: ByteBuffer) {
        context?.write(wrapOutboundOut(frame), promise: nil)
    }

    var answersPings: Bool { true }

    /// The closing handshake is the `ProtocolGuard`'s.
    func close(code: WebSocketErrorCode, reason: String) {
        guard let context else { return }
        if let protocolGuard = try? context.pipeline.syncOperations.handler(type: ProtocolGuard.self) {
            protocolGuard.close(code: code, reason: reason)
        } else {
            context.close(promise: nil)
        }
    }
}
