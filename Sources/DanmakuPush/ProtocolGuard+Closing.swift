// Danmaku — a live-stream bullet-comment service.

import NIOCore
import NIOWebSocket

/// The closing handshake (RFC 6455 §7): failing the connection on a violation, the last frame
/// before the socket closes (also the answer to the peer's close), and the server's own close
/// (going away, slow consumer, idle).
extension ProtocolGuard {
    /// Fails the connection (RFC 6455 §7.1.7): a close frame with `code`, then the server's side
    /// of the socket is shut once it is written (FIN), and the rest of what the peer sends is
    /// read and dropped until it closes, or for `closeTimeout` at most. (Closing with unread
    /// input would reset the connection, and the peer could lose the close frame.)
    func fail(_ code: WebSocketErrorCode, _ reason: String) {
        guard case .open = phase, let context else { return }
        phase = .closed
        assembly = nil
        context.fireUserInboundEventTriggered(Closing())
        closeAfterWriting(ServerFrame.close(code: code, reason: reason), context: context)
    }

    /// Writes `frame`, then shuts the server's side (a full close where that is not possible),
    /// and closes the socket when the peer does, or after `closeTimeout` at the latest.
    func closeAfterWriting(_ frame: ByteBuffer, context: ChannelHandlerContext) {
        let channel = context.channel
        let deadline = context.eventLoop.scheduleTask(in: settings.closeTimeout) { channel.close(promise: nil) }
        channel.closeFuture.whenComplete { _ in deadline.cancel() }
        guard let outlet else { return channel.close(promise: nil) }
        outlet.writeAndFlush(wrapOutboundOut(frame)).whenComplete { _ in
            channel.close(mode: .output).whenFailure { _ in channel.close(promise: nil) }
        }
    }

    /// Starts the closing handshake from the server's side (going away, slow consumer, idle):
    /// the close frame, then the socket is closed when the peer answers or after `closeTimeout`.
    public func close(code: WebSocketErrorCode, reason: String) {
        guard case .open = phase, let context else { return }
        phase = .closing
        assembly = nil
        outlet?.writeAndFlush(wrapOutboundOut(ServerFrame.close(code: code, reason: reason)), promise: nil)
        let channel = context.channel
        let timeout = context.eventLoop.scheduleTask(in: settings.closeTimeout) {
            channel.close(promise: nil)
        }
        channel.closeFuture.whenComplete { _ in timeout.cancel() }
    }

    /// The code to answer a peer's close frame with (RFC 6455 §5.5.1, §7.4): its own code when
    /// valid, 1000 for an empty close, 1002 for a one-byte payload, a code that must not be sent
    /// (e.g. 1005, 1006, 1015, below 1000, unassigned) or a reason that is not UTF-8.
    static func closeCode(answering payload: ByteBuffer) -> WebSocketErrorCode {
        var payload = payload
        if payload.readableBytes == 0 { return .normalClosure }
        guard let raw = payload.readInteger(as: UInt16.self),
            String(validating: payload.readableBytesView, as: UTF8.self) != nil
        else { return .protocolError }
        switch raw {
        case 1000...1003, 1007...1014, 3000...4999: return WebSocketErrorCode(codeNumber: Int(raw))
        default: return .protocolError
        }
    }
}
