// Danmaku — a live-stream bullet-comment service.

import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// A TCP user timeout on viewer sockets: when bytes written to a viewer stay unacknowledged for
/// the idle timeout (the peer gone without a FIN, a cable pulled), the kernel closes the socket,
/// even while batches keep being written to it. It complements the pings (`ViewerHandler`),
/// which stay what keeps a viewer open: behind a proxy, or with an application that stopped
/// reading while its kernel acknowledges, only a pong says the viewer is there.
public enum ViewerSocketLiveness {
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
