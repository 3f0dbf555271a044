// Danmaku — a live-stream bullet-comment service.

import NIOCore

/// Marks the point at the head of a viewer's pipeline where complete frames are written.
///
/// NIO's WebSocket upgrader always installs a frame encoder, which would re-frame every write.
/// Batches are already complete frames, so `ViewerHandler` writes through this handler's
/// context, which sits between the encoder and the socket: the bytes go out untouched.
public final class FrameOutlet: ChannelOutboundHandler, RemovableChannelHandler {
    public typealias OutboundIn = ByteBuffer
    public typealias OutboundOut = ByteBuffer

    public init() {}
}
