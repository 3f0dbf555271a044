// Danmaku — a live-stream bullet-comment service.

import DanmakuBus
import DanmakuCore
import Foundation
import NIOCore
import Synchronization
import Tracing

/// A comment that passed every check and was stored: the model (for the 201 answer) and its bytes.
public struct AcceptedComment: Sendable {
    /// The comment as viewers see it.
    public var comment: Comment
    /// Its encoded form, as stored and published.
    public var encoded: EncodedComment
}

/// The logic tier: every post, from HTTP or from a viewer's socket, goes through `submit`.
///
/// Order of checks: fields, rate limits, word filter, duplicates; then the log assigns the seq
/// and stores it, and only then is it published. A comment that fails any check is never stored
/// or published.
public final class CommentService: Sendable {
    let configuration: LogicConfiguration
    let validator: CommentValidator
    let limiter: RateLimiter
    let duplicates: DuplicateSuppressor
    let filter: Mutex<SensitiveWordFilter>
    let log: any CommentLog
    let bus: any CommentBus
    let onPublishFailure: @Sendable (any Error) -> Void
    let metrics: LogicMetrics
    let authenticator: any PostAuthenticator
    /// Bans and room settings.
    public let moderation: any ModerationStore
    /// Viewers per room across the deployment (kept up to date by the server's presence loop).
    public let online: OnlineDirectory
    /// Streams and the archive of every comment, for replay; nil without an archive (`--data-dir`).
    public let replay: (any ReplayStore)?
    /// The per-address budget of expensive reads (history, replay, room stats, socket joins).
    public let reads: ReadBudget
    /// Who likes which comment.
    let likes: any LikeStore
    /// Likes per user (`configuration.likeLimit`).
    let likeLimiter: RateLimiter
    /// The comment pools of recorded videos.
    public let videos: any VideoPoolStore
    /// Posts with an `Idempotency-Key`: reserved, answered once, replayed to retries.
    let idempotency: IdempotentPosts

    /// - Parameter onPublishFailure: told when a stored comment could not be published live
    ///   (it stays in history, so resuming viewers still get it).
    public init(
        configuration: LogicConfiguration, log: any CommentLog, bus: any CommentBus,
        metrics: LogicMetrics = LogicMetrics(), authenticator: any PostAuthenticator = OpenPosting(),
        moderation: any ModerationStore = MemoryModeration(), online: OnlineDirectory = OnlineDirectory(),
        replay: (any ReplayStore)? = nil, likes: any LikeStore = MemoryLikes(), videos: any VideoPoolStore = MemoryVideoPools(),
        idempotency: any IdempotencyStore = MemoryIdempotency(),
        onPublishFailure: @escaping @Sendable (any Error) -> Void = { _ in }
    ) {
        self.replay = replay
        self.idempotency = IdempotentPosts(store: idempotency, window: .seconds(configuration.idempotencyWindowSeconds), metrics: metrics)
        self.likes = likes
        self.videos = videos
        self.likeLimiter = RateLimiter(limits: [.user: configuration.likeLimit])
        self.reads = ReadBudget(limit: configuration.readLimit)
        self.moderation = moderation
        self.online = online
        self.metrics = metrics
        self.authenticator = authenticator
        self.configuration = configuration
        self.validator = CommentValidator(maxTextLength: configuration.maxTextLength)
        self.limiter = RateLimiter(limits: [
            .user: configuration.userLimit, .ip: configuration.ipLimit, .room: configuration.roomLimit,
        ])
        self.duplicates = DuplicateSuppressor(window: configuration.duplicateWindowSeconds)
        self.filter = Mutex(SensitiveWordFilter(words: configuration.words))
        self.log = log
        self.bus = bus
        self.onPublishFailure = onPublishFailure
    }

    /// Replaces the blocked-word list at run time.
    public func replaceWords(_ words: [String]) {
        let rebuilt = SensitiveWordFilter(words: words)
        filter.withLock { $0 = rebuilt }
    }

    /// Authenticates the poster (`token` as sent, nil for none), then checks, stores and
    /// publishes the comment.
    public func submit(
        room: RoomID, request: CommentRequest, token: String?, clientAddress: String
    ) async -> Result<AcceptedComment, DanmakuError> {
        let started = ContinuousClock.now
        return await withSpan("danmaku.post", ofKind: .server) { span in
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
        await withSpan("danmaku.post", ofKind: .server) { span in
            span.attributes["danmaku.room"] = room.value
            // Links the trace to the request's `X-Request-Id` (and so to its answer and log lines).
            if let id = ServiceContext.current?.requestID { span.attributes["danmaku.request_id"] = id }
            let author: CommentAuthor
            switch await self.author(token: token, room: room, clientAddress: clientAddress, started: started, span: span) {
            case .success(let value): author = value
            case .failure(let error): return .failure(error)
            }
            let asked = (try? WireCodec.encode(request)).map { Array($0.readableBytesView) } ?? []
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
        await withSpan("danmaku.post", ofKind: .server) { span in
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
        let admitted: Admitted
        switch await admit(room: room, request: request, author: author, clientAddress: clientAddress) {
        case .success(let value): admitted = value
        case .failure(let error): return .failure(.notStored(error))
        }
        let (draft, finalText) = (admitted.draft, admitted.text)
        let id = RandomID.make()
        let ts = Int64(saturating: admitted.now * 1000)
        let stored: EncodedComment
        switch await storeAndPublish(room: room, {
            try Comment(
                seq: 0, id: id, room: room.value, user: author, text: finalText, color: draft.color, mode: draft.mode, ts: ts,
                size: draft.size, pool: draft.pool
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
            color: draft.color, mode: draft.mode, ts: ts, size: draft.size, pool: draft.pool)
        return .success(AcceptedComment(comment: comment, encoded: stored))
    }

    /// Numbers and stores a record (comment or notice) with the log, then publishes it: the
    /// answer waits for the store, never for the publish (a stored record that could not be
    /// published live is still in history, so resuming viewers get it).
    func storeAndPublish(room: RoomID, _ unnumbered: () throws -> ByteBuffer) async -> Result<EncodedComment, StoreFailure> {
        let stored: EncodedComment
        do {
            let record = try unnumbered()
            stored = try await withSpan("danmaku.store") { span in
                let stored = try await log.append(room: room, unnumbered: record)
                span.attributes["danmaku.seq"] = Int(clamping: stored.seq)
                return stored
            }
        } catch let error as AppendOutcomeUnknown {
            return .failure(.mayBeStored(.storeOutcomeUnknown(error.description)))
        } catch {
            return .failure(.notStored(.busUnavailable(String(describing: error))))
        }
        // In process, the push hub hands this span's context on to the batch that carries the
        // comment (`danmaku.push`).
        do {
            try await withSpan("danmaku.publish", ofKind: .producer) { _ in try await bus.publish([stored], room: room) }
        } catch {
            onPublishFailure(error)
        }
        return .success(stored)
    }

    /// The user `token` names if it may moderate `room` (nil: node-wide), or why not.
    public func moderator(token: String?, room: RoomID?) async -> Result<CommentAuthor, DanmakuError> {
        await authenticator.moderator(token: token, room: room)
    }

    /// Takes comment `id` back: out of history, and off the screens of the room's viewers.
    /// Returns its seq, or `not_found` when history does not hold it (too old, or unknown).
    public func retract(room: RoomID, id: String) async -> Result<UInt64, DanmakuError> {
        guard EncodedComment.isPlausibleID(id) else { return .failure(.notFound) }
        let seq: UInt64?
        do {
            seq = try await log.retract(room: room, id: id)
        } catch {
            return .failure(.busUnavailable(String(describing: error)))
        }
        guard let seq else { return .failure(.notFound) }
        do {
            try await bus.publishRetraction(seq: seq, id: id, room: room)
        } catch {
            // History no longer has it; viewers connected now keep it on screen until they reconnect.
            onPublishFailure(error)
        }
        return .success(seq)
    }
}

/// Why a record was not stored for sure: the answer for the client, and whether it may be stored
/// all the same (so that what admitting it counted is not all given back).
enum StoreFailure: Error, Sendable {
    /// The store did not take it.
    case notStored(DanmakuError)
    /// The store did not confirm it in time: it may be in history.
    case mayBeStored(DanmakuError)

    var answer: DanmakuError {
        switch self {
        case .notStored(let error), .mayBeStored(let error): error
        }
    }
}
