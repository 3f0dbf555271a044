// Danmaku — a live-stream bullet-comment service.

import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// How a written batch proves a viewer's connection alive, so that viewers of a busy room need
/// no pings.
///
/// Accepted sockets get a TCP user timeout equal to the idle timeout: when bytes written to a
/// socket stay unacknowledged that long (the peer gone without a FIN, a cable pulled, a
/// half-open connection), the kernel closes it. A batch written to a viewer is therefore either
/// acknowledged by the viewer's TCP stack or ends the connection within the idle timeout, as a
/// ping that goes unanswered would.
public enum ViewerSocketLiveness {
    /// Whether this platform has the TCP user timeout, so a written batch counts as a sign of
    /// life; elsewhere viewers are pinged as before.
    #if os(Linux)
    public static let batchesProveLife = true
    #else
    public static let batchesProveLife = false
    #endif

    /// The socket option to set on accepted connections, with its value in milliseconds; nil
    /// where the platform lacks it.
    public static func userTimeout(_ idleTimeout: TimeAmount) -> (option: ChannelOptions.Types.SocketOption, milliseconds: SocketOptionValue)? {
        #if os(Linux)
        let milliseconds = SocketOptionValue(clamping: max(1, idleTimeout.nanoseconds / 1_000_000))
        return (.tcpOption(NIOBSDSocket.Option(rawValue: CInt(TCP_USER_TIMEOUT))), milliseconds)
        #else
        return nil
        #endif
    }
}
