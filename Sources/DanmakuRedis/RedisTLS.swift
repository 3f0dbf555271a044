// Danmaku — a live-stream bullet-comment service.

import NIOCore
import NIOSSL
import NIOTLS

/// TLS to Redis (`rediss://`): whom to trust, and the client's own certificate when the server
/// asks for one. Files are PEM.
public struct RedisTLS: Sendable, Equatable {
    /// The CA that signed the server's certificate; nil trusts the system's roots.
    public var caFile: String?
    /// The client's certificate chain and key, for servers that authenticate clients.
    public var certificateFile: String?
    public var keyFile: String?

    public init(caFile: String? = nil, certificateFile: String? = nil, keyFile: String? = nil) {
        self.caFile = caFile
        self.certificateFile = certificateFile
        self.keyFile = keyFile
    }

    /// The client context: the server's certificate is verified against the trust roots and its
    /// name (or IP address) against what the client connected to.
    func makeContext() throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        if let caFile { configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caFile)) }
        if let certificateFile {
            configuration.certificateChain = try NIOSSLCertificate.fromPEMFile(certificateFile).map { .certificate($0) }
        }
        if let keyFile { configuration.privateKey = .privateKey(try NIOSSLPrivateKey(file: keyFile, format: .pem)) }
        return try NIOSSLContext(configuration: configuration)
    }
}

/// Completes `handshake` when the TLS handshake ends: with success, or with the error that ended
/// it (a certificate the trust roots do not vouch for, a name that does not match).
final class TLSHandshakeWatcher: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    let handshake: EventLoopPromise<Void>

    init(handshake: EventLoopPromise<Void>) {
        self.handshake = handshake
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case TLSUserEvent.handshakeCompleted = event { handshake.succeed() }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        handshake.fail(error)
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        handshake.fail(RedisError.connectionClosed)
        context.fireChannelInactive()
    }
}
