// Danmaku — a live-stream bullet-comment service.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore
import NIOPosix

/// Runs a piece of work on a loop after the loop has next looked at its sockets.
///
/// NIO runs the tasks a task enqueues (`execute`, and scheduled tasks already due) in the same
/// turn of the loop, before it polls its sockets again: work continued that way would keep posts,
/// joins and pongs waiting until all of it is done. A byte written to a pipe the loop watches is
/// seen only when the loop polls, with the sockets' own events: the work then runs in that turn's
/// I/O, after whatever became readable before it.
final class NextIOTurn {
    private let writeEnd: CInt
    private var channel: (any Channel)?
    private var requested = false

    private init(writeEnd: CInt) {
        self.writeEnd = writeEnd
    }

    /// Makes a pipe watched by `loop` that calls `work` (on the loop) once per `request`, and
    /// hands it to `ready`; nil when the loop does not poll file descriptors (an embedded loop in
    /// tests) or the pipe cannot be made. Called on `loop`.
    static func make(on loop: any EventLoop, _ work: @escaping () -> Void, ready: @escaping (NextIOTurn?) -> Void) {
        loop.preconditionInEventLoop()
        guard let bootstrap = NIOPipeBootstrap(validatingGroup: loop) else { return ready(nil) }
        var ends: [CInt] = [0, 0]
        guard pipe(&ends) == 0 else { return ready(nil) }
        // Writing never blocks the loop: a full pipe already holds a request.
        _ = fcntl(ends[1], F_SETFL, O_NONBLOCK)
        _ = fcntl(ends[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(ends[1], F_SETFD, FD_CLOEXEC)
        let turn = NextIOTurn(writeEnd: ends[1])
        let wakeup = NIOLoopBound(Wakeup { [turn] in
            turn.requested = false
            work()
        }, eventLoop: loop)
        bootstrap
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(wakeup.value) }
            }
            .takingOwnershipOfDescriptor(input: ends[0])
            .assumeIsolated()
            .whenComplete { result in
                switch result {
                case .success(let channel):
                    turn.channel = channel
                    ready(turn)
                case .failure:
                    _ = Glibc.close(ends[0])
                    _ = Glibc.close(ends[1])
                    ready(nil)
                }
            }
    }

    /// Asks for `work` to run in the loop's next turn of I/O (once, however often asked meanwhile).
    func request() {
        guard !requested else { return }
        requested = true
        var byte: UInt8 = 1
        // The pipe holds one byte at most (a request is pending until it is read), never blocking.
        _ = write(writeEnd, &byte, 1)
    }

    /// Stops watching the pipe and closes it.
    func close() {
        channel?.close(promise: nil)
        channel = nil
        _ = Glibc.close(writeEnd)
    }

    /// Reads the pipe and runs the work.
    private final class Wakeup: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        let work: () -> Void

        init(_ work: @escaping () -> Void) {
            self.work = work
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            work()
        }
    }
}
