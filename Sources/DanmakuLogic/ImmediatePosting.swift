// Danmaku — a live-stream bullet-comment service.

import DanmakuBus
import DanmakuCore
import Foundation

/// Posting a live comment on the caller's thread, answered before it returns: for a node whose
/// log, bus and moderation state are all in its own memory (the embedded bus), where no step has
/// anything to wait for. The HTTP handler runs it on the connection's event loop, so a post makes
/// no task and no hop to the concurrency pool and back (a tenth of a post's CPU, in thread
/// switches alone), and opens no span.
///
/// It does what `CommentPosting` does, in the same order, with the same answers and metrics; it
/// declines a post (nil, before anything is counted) that needs something it cannot have at once,
/// and the caller then posts it through `CommentPosting`:
/// - a post with an `Idempotency-Key` (its reservation is the idempotency store's);
/// - an author a token names that this node has not verified before (its check is `jwt-kit`'s,
///   behind an actor; later posts with the token are told at once), or an anonymous one whose salt
///   must be read again;
/// - a node with tracing on (every post is a trace of spans).
public struct ImmediatePosting: Sendable {
    let authenticator: any PostAuthenticator
    let admission: CommentAdmission
    let log: any ImmediateCommentLog
    let bus: any ImmediateCommentBus
    let moderation: any ImmediateModeration
    let metrics: LogicMetrics

    /// The parts posting needs, when all of them answer at once; nil otherwise.
    init?(
        authenticator: any PostAuthenticator, admission: CommentAdmission, log: any CommentLog, bus: any CommentBus,
        moderation: any ModerationStore, metrics: LogicMetrics
    ) {
        guard authenticator.answersAtOnce, let log = log as? any ImmediateCommentLog, let bus = bus as? any ImmediateCommentBus,
              let moderation = moderation as? any ImmediateModeration else { return nil }
        (self.authenticator, self.admission, self.log, self.bus, self.moderation, self.metrics) =
            (authenticator, admission, log, bus, moderation, metrics)
    }

    /// Reads the comment's body (`CommentRequest.decode`), checks, stores and publishes it, and
    /// answers its receipt or the refusal, in `CommentPosting`'s order; nil when it cannot be
    /// answered at once (nothing was read or counted, and `CommentPosting.post` takes it).
    ///
    /// - Parameter body: read only when it posts (a post it declines is not copied).
    public func post(
        room: RoomID, body: @autoclosure () -> [UInt8], token: String?, clientAddress: String, idempotencyKey: IdempotencyKey?
    ) -> Result<CommentReceipt, DanmakuError>? {
        postNamingAuthor(room: room, body: body(), token: token, clientAddress: clientAddress, idempotencyKey: idempotencyKey)
            .map { outcome in outcome.map(\.receipt) }
    }

    /// `post`, also naming the author (a viewer's socket learns its own id from its first post).
    func postNamingAuthor(
        room: RoomID, body: @autoclosure () -> [UInt8], token: String?, clientAddress: String, idempotencyKey: IdempotencyKey?
    ) -> Result<(receipt: CommentReceipt, author: CommentAuthor), DanmakuError>? {
        guard idempotencyKey == nil, !TracedSteps.areTraced,
              let authored = authenticator.authorNow(token: token, room: room, clientAddress: clientAddress) else { return nil }
        // The body is read before the author is told, as `CommentPosting`'s callers do.
        let request: CommentRequest
        switch CommentRequest.decode(from: body()) {
        case .success(let decoded): request = decoded
        case .failure(let error): return .failure(error)
        }
        let started = ContinuousClock.now
        let author: CommentAuthor
        switch authored {
        case .success(let value): author = value
        case .failure(let error):
            metrics.didReject(error, after: .now - started)
            return .failure(error)
        }
        let screened: CommentAdmission.Screened
        let weight: Int
        switch admission.admitNow(room: room, request: request, author: author, clientAddress: clientAddress, moderation: moderation) {
        case .success(let admitted): (screened, weight) = admitted
        case .failure(let error):
            metrics.didReject(error, after: .now - started)
            return .failure(error)
        }
        let draft = screened.draft
        var comment = Comment(
            seq: 0, id: RandomID.make(), room: room.value, user: author, text: screened.text, color: draft.color, mode: draft.mode,
            ts: Int64(saturating: screened.now * 1000), size: draft.size, pool: draft.pool, weight: weight)
        let stored = log.appendNow(room: room, unnumbered: comment.unnumberedJSON())
        bus.publishNow([stored], room: room)
        comment.seq = stored.seq
        metrics.didAccept(after: .now - started)
        return .success((CommentReceipt(comment), author))
    }
}
