// Danmaku — a live-stream bullet-comment service.

import DanmakuBus
import DanmakuCore
import NIOCore

/// Posting a live comment on its connection's event loop when the store checks and appends it in
/// one call whose answer a future brings (Redis without replicas to confirm): the checks in
/// memory run on the loop, the script call goes out from it, and its answer is the post's answer,
/// with no task and no hop to the concurrency pool and back (a third of a Redis-mode post's CPU
/// on the logic node, in `perf`), and no span.
///
/// It does what `CommentPosting` does for such a store, in the same order, with the same answers,
/// metrics and counts given back; like `ImmediatePosting` it declines (nil, before anything is read
/// or counted) a post with an `Idempotency-Key`, one whose author needs a check that cannot answer
/// at once (a token this node has not verified before), and every post while tracing is on; the
/// caller then posts it through `CommentPosting`.
public struct LoopPosting: Sendable {
    let authenticator: any PostAuthenticator
    let admission: CommentAdmission
    let appending: any LoopAppendingModeration
    let bus: any ImmediateCommentBus
    let metrics: LogicMetrics

    /// The parts posting needs, when the store appends in one call and the bus publishes at once;
    /// nil otherwise.
    init?(authenticator: any PostAuthenticator, admission: CommentAdmission, log: any CommentLog, bus: any CommentBus, metrics: LogicMetrics) {
        guard authenticator.answersAtOnce, let appending = admission.appending(with: log) as? any LoopAppendingModeration,
              appending.appendsInOneCall, let bus = bus as? any ImmediateCommentBus else { return nil }
        (self.authenticator, self.admission, self.appending, self.bus, self.metrics) = (authenticator, admission, appending, bus, metrics)
    }

    /// Reads the comment's body (`CommentRequest.decode`), checks, stores and publishes it; the
    /// future, on `eventLoop`, brings its receipt or the refusal and never fails. Nil when it
    /// cannot post it this way (nothing was read or counted, and `CommentPosting.post` takes it).
    ///
    /// - Parameter body: read only when it posts (a post it declines is not copied).
    public func post(
        room: RoomID, body: @autoclosure () -> [UInt8], token: String?, clientAddress: String, idempotencyKey: IdempotencyKey?,
        on eventLoop: any EventLoop
    ) -> EventLoopFuture<Result<CommentReceipt, DanmakuError>>? {
        guard idempotencyKey == nil, !TracedSteps.areTraced,
              let authored = authenticator.authorNow(token: token, room: room, clientAddress: clientAddress) else { return nil }
        // The body is read before the author is told, as `CommentPosting`'s callers do.
        let request: CommentRequest
        switch CommentRequest.decode(from: body()) {
        case .success(let decoded): request = decoded
        case .failure(let error): return eventLoop.makeSucceededFuture(.failure(error))
        }
        let started = ContinuousClock.now
        let author: CommentAuthor
        switch authored {
        case .success(let value): author = value
        case .failure(let error):
            metrics.didReject(error, after: .now - started)
            return eventLoop.makeSucceededFuture(.failure(error))
        }
        let id = RandomID.make()
        let (bus, metrics) = (bus, metrics)
        return admission.admitAndAppendOnLoop(
            room: room, request: request, author: author, clientAddress: clientAddress, appending: appending, on: eventLoop,
            record: { Self.comment($0, id: id, seq: 0, room: room, author: author).unnumberedJSON() }
        ).map { outcome in
            // Still on the store's loop, where its answers arrive in the order it numbered them:
            // published from here, the comments this path posts reach a room's batches in seq
            // order, whichever loops their posts came in on (a push node repairs a comment out of
            // order as a gap; posts `CommentPosting` takes still publish from their tasks).
            switch outcome {
            case .success(let (admitted, stored)):
                bus.publishNow([stored], room: room)
                metrics.didAccept(after: .now - started)
                return .success(CommentReceipt(Self.comment(admitted, id: id, seq: stored.seq, room: room, author: author)))
            case .failure(let failure):
                metrics.didReject(failure.answer, after: .now - started)
                return .failure(failure.answer)
            }
        }.hop(to: eventLoop)
    }

    /// The comment an admitted post makes, numbered `seq` (0 before the store numbers it).
    private static func comment(_ admitted: CommentAdmission.Admitted, id: String, seq: UInt64, room: RoomID, author: CommentAuthor) -> Comment {
        Comment(
            seq: seq, id: id, room: room.value, user: author, text: admitted.text, color: admitted.draft.color, mode: admitted.draft.mode,
            ts: Int64(saturating: admitted.now * 1000), size: admitted.draft.size, pool: admitted.draft.pool, weight: admitted.weight)
    }
}
