// Danmaku — a live-stream bullet-comment service.

import DanmakuBus
import DanmakuCore
import Foundation
import Tracing

/// A comment that passed every check and was stored: the model (for the 201 answer) and its bytes.
public struct AcceptedComment: Sendable {
    /// The comment as viewers see it.
    public var comment: Comment
    /// Its encoded form, as stored and published.
    public var encoded: EncodedComment
}

/// Posting a live comment, from HTTP or from a viewer's socket: the poster is authenticated, the
/// comment admitted (`CommentAdmission`), then numbered and stored, and only then published. A
/// comment that fails any check is never stored or published.
public struct CommentPosting: Sendable {
    let authenticator: any PostAuthenticator
    let admission: CommentAdmission
    let publisher: RecordPublisher
    /// Posts with an `Idempotency-Key`: reserved, answered once, replayed to retries.
    let idempotency: IdempotentPosts
    let metrics: LogicMetrics

    /// Authenticates the poster (`token` as sent, nil for none), then checks, stores and
    /// publishes the comment.
    public func submit(
        room: RoomID, request: CommentRequest, token: String?, clientAddress: String
    ) async -> Result<AcceptedComment, DanmakuError> {
        let started = ContinuousClock.now
        return await TracedSteps.step("danmaku.post", ofKind: .server) { span in
            span.attributes["danmaku.room"] = room.value
            // Links the trace to the request's `X-Request-Id` (and so to its answer and log lines).
            if let id = ServiceContext.current?.requestID { span.attributes["danmaku.request_id"] = id }
            switch await author(token: token, room: room, clientAddress: clientAddress, started: started, span: span) {
            case .success(let author):
                return await process(room: room, request: request, author: author, clientAddress: clientAddress, started: started, span: span)
                    .mapError(\.answer)
            case .failure(let error):
                return .failure(error)
            }
        }
    }

    /// `submit` for a client that may retry: with `idempotencyKey`, a retry by the same author
    /// within the window gets the first post's receipt instead of posting again (`IdempotentPosts`).
    public func post(
        room: RoomID, request: CommentRequest, token: String?, clientAddress: String, idempotencyKey: IdempotencyKey?
    ) async -> Result<CommentReceipt, DanmakuError> {
        await post(room: room, request: request, token: token, clientAddress: clientAddress, idempotencyKey: idempotencyKey, started: .now)
            .map(\.receipt)
    }

    /// `post`, also naming the author the key was kept for (a viewer's socket learns its own id
    /// from it, a retry's as much as a first post's).
    func post(
        room: RoomID, request: CommentRequest, token: String?, clientAddress: String, idempotencyKey: IdempotencyKey?,
        started: ContinuousClock.Instant
    ) async -> Result<(receipt: CommentReceipt, author: CommentAuthor), DanmakuError> {
        await TracedSteps.step("danmaku.post", ofKind: .server) { span in
            span.attributes["danmaku.room"] = room.value
            // Links the trace to the request's `X-Request-Id` (and so to its answer and log lines).
            if let id = ServiceContext.current?.requestID { span.attributes["danmaku.request_id"] = id }
            let author: CommentAuthor
            switch await self.author(token: token, room: room, clientAddress: clientAddress, started: started, span: span) {
            case .success(let value): author = value
            case .failure(let error): return .failure(error)
            }
            // The request's fingerprint, only for a post that can be retried (most carry no key).
            let asked = idempotencyKey == nil ? [] : (try? WireCodec.encode(request)).map { Array($0.readableBytesView) } ?? []
            return await idempotency.perform(idempotencyKey, kind: .comment, scope: room.value, principal: author.id, request: asked) {
                await process(room: room, request: request, author: author, clientAddress: clientAddress, started: started, span: span)
                    .map { CommentReceipt($0.comment) }
            }.map { (receipt: $0, author: author) }
        }
    }

    /// Checks, stores and publishes one comment of a known author.
    public func submit(
        room: RoomID, request: CommentRequest, author: CommentAuthor, clientAddress: String, started: ContinuousClock.Instant = .now
    ) async -> Result<AcceptedComment, DanmakuError> {
        await TracedSteps.step("danmaku.post", ofKind: .server) { span in
            span.attributes["danmaku.room"] = room.value
            // Links the trace to the request's `X-Request-Id` (and so to its answer and log lines).
            if let id = ServiceContext.current?.requestID { span.attributes["danmaku.request_id"] = id }
            return await process(room: room, request: request, author: author, clientAddress: clientAddress, started: started, span: span)
                .mapError(\.answer)
        }
    }

    /// The poster of a comment, or the refusal (counted and recorded on `span`).
    private func author(
        token: String?, room: RoomID, clientAddress: String, started: ContinuousClock.Instant, span: any Span
    ) async -> Result<CommentAuthor, DanmakuError> {
        let result = await authenticator.author(token: token, room: room, clientAddress: clientAddress)
        if case .failure(let error) = result {
            metrics.didReject(error, after: .now - started)
            Self.record(.failure(error), on: span)
        }
        return result
    }

    private func process(
        room: RoomID, request: CommentRequest, author: CommentAuthor, clientAddress: String, started: ContinuousClock.Instant, span: any Span
    ) async -> Result<AcceptedComment, StoreFailure> {
        let result = await check(room: room, request: request, author: author, clientAddress: clientAddress)
        switch result {
        case .success: metrics.didAccept(after: .now - started)
        case .failure(let error): metrics.didReject(error.answer, after: .now - started)
        }
        Self.record(result.mapError(\.answer), on: span)
        return result
    }

    /// A post's outcome on its span: its seq, or the error code (a server-side failure, 503, is
    /// also the span's error status).
    private static func record(_ result: Result<AcceptedComment, DanmakuError>, on span: any Span) {
        switch result {
        case .success(let accepted):
            span.attributes["danmaku.seq"] = Int(clamping: accepted.encoded.seq)
            span.attributes["danmaku.outcome"] = "accepted"
        case .failure(let error):
            span.attributes["danmaku.outcome"] = error.code
            if error.status >= 500 { span.setStatus(SpanStatus(code: .error, message: error.code)) }
        }
    }

    /// The comment stored, or why not: a refusal is `notStored`.
    private func check(
        room: RoomID, request: CommentRequest, author: CommentAuthor, clientAddress: String
    ) async -> Result<AcceptedComment, StoreFailure> {
        if let appending = admission.appending(with: publisher.log) {
            return await checkAndStoreInOneStep(room: room, request: request, author: author, clientAddress: clientAddress, appending: appending)
        }
        let admitted: CommentAdmission.Admitted
        switch await admission.admit(room: room, request: request, author: author, clientAddress: clientAddress) {
        case .success(let value): admitted = value
        case .failure(let error): return .failure(.notStored(error))
        }
        let (draft, finalText) = (admitted.draft, admitted.text)
        let id = RandomID.make()
        let ts = Int64(saturating: admitted.now * 1000)
        let stored: EncodedComment
        switch await publisher.storeAndPublish(room: room, {
            Comment(
                seq: 0, id: id, room: room.value, user: author, text: finalText, color: draft.color, mode: draft.mode, ts: ts,
                size: draft.size, pool: draft.pool, weight: admitted.weight
            ).unnumberedJSON()
        }) {
        case .success(let value): stored = value
        case .failure(let error):
            // A post that may be stored keeps its place in the duplicate window: the client's
            // retry of it is then refused, never stored a second time.
            switch error {
            case .mayBeStored: await admitted.refundKeepingDuplicate()
            case .notStored: await admitted.refund()
            }
            return .failure(error)
        }
        let comment = Comment(
            seq: stored.seq, id: id, room: room.value, user: author, text: finalText,
            color: draft.color, mode: draft.mode, ts: ts, size: draft.size, pool: draft.pool, weight: admitted.weight)
        return .success(AcceptedComment(comment: comment, encoded: stored))
    }

    /// `check` where the store checks its part and appends in one step (`CommentAdmission.appending`),
    /// then the stored comment is published.
    private func checkAndStoreInOneStep(
        room: RoomID, request: CommentRequest, author: CommentAuthor, clientAddress: String, appending: any AppendingModeration
    ) async -> Result<AcceptedComment, StoreFailure> {
        let id = RandomID.make()
        func comment(_ admitted: CommentAdmission.Admitted, seq: UInt64) -> Comment {
            Comment(
                seq: seq, id: id, room: room.value, user: author, text: admitted.text, color: admitted.draft.color,
                mode: admitted.draft.mode, ts: Int64(saturating: admitted.now * 1000), size: admitted.draft.size, pool: admitted.draft.pool,
                weight: admitted.weight)
        }
        let outcome = await admission.admitAndAppend(
            room: room, request: request, author: author, clientAddress: clientAddress, appending: appending,
            record: { comment($0, seq: 0).unnumberedJSON() })
        switch outcome {
        case .failure(let error):
            return .failure(error)
        case .success(let (admitted, stored)):
            await publisher.publish(stored, room: room)
            return .success(AcceptedComment(comment: comment(admitted, seq: stored.seq), encoded: stored))
        }
    }
}
