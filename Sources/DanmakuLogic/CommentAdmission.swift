// Danmaku — a live-stream bullet-comment service.

import DanmakuBus
import DanmakuCore
import Foundation
import NIOCore
import Tracing

/// Admission: every check a post goes through before it is stored, for live and video comments
/// alike, and what it was charged (given back when the store then fails). Checks in order: who
/// may use a pool flag, fields, rate limits, the word filter, duplicates, then the store's bans,
/// style limits and slow mode. A post it admits is weighed (`CommentWeight`): its author's
/// standing less their record in the room (`AuthorRecords`).
struct CommentAdmission: Sendable {
    let configuration: LogicConfiguration
    let validator: CommentValidator
    let limiter: RateLimiter
    let duplicates: DuplicateSuppressor
    let words: BlockedWords
    /// Bans, slow mode and who may style comments, per room.
    let moderation: any ModerationStore
    /// Authors' recent removals and bans, per room.
    let records: AuthorRecords

    init(configuration: LogicConfiguration, words: BlockedWords, moderation: any ModerationStore, records: AuthorRecords) {
        self.configuration = configuration
        self.validator = CommentValidator(maxTextLength: configuration.maxTextLength)
        self.limiter = RateLimiter(limits: [
            .user: configuration.userLimit, .ip: configuration.ipLimit, .room: configuration.roomLimit,
        ])
        self.duplicates = DuplicateSuppressor(window: configuration.duplicateWindowSeconds)
        self.words = words
        self.moderation = moderation
        self.records = records
    }

    /// What the checks in memory made of a post.
    struct Screened {
        var draft: CommentDraft
        /// The text to store (masked, under `--filter-policy mask`).
        var text: String
        var normalized: String
        var keys: [RateScope: String]
        var now: Double
    }

    /// The checks that need no store: fields, rate limits, word filter, duplicates.
    func screen(room: RoomID, request: CommentRequest, author: CommentAuthor, clientAddress: String) -> Result<Screened, DanmakuError> {
        let draft: CommentDraft
        switch validator.validate(request) {
        case .success(let valid): draft = valid
        case .failure(let error): return .failure(error)
        }
        let now = Date().timeIntervalSince1970
        let keys: [RateScope: String] = [.user: author.id, .ip: clientAddress, .room: room.value]
        if let limited = limiter.acquire(keys: keys, now: now) {
            return .failure(limited)
        }
        var text = draft.text
        let currentFilter = words.current
        switch configuration.filterPolicy {
        case .reject:
            if currentFilter.contains(in: text) { return .failure(.filtered) }
        case .mask:
            if let masked = currentFilter.masked(text) { text = masked }
        }
        let normalized = TextNormalizer.key(draft.text)
        if duplicates.isDuplicate(user: author.id, normalizedText: normalized, now: now) {
            return .failure(.duplicate)
        }
        return .success(Screened(draft: draft, text: text, normalized: normalized, keys: keys, now: now))
    }

    /// A post that passed every check and was counted (rate limits, duplicates, slow mode), not
    /// yet stored.
    struct Admitted: Sendable {
        var draft: CommentDraft
        /// The text to store (masked, under `--filter-policy mask`).
        var text: String
        /// When it was admitted, seconds since the Unix epoch.
        var now: Double
        /// The weight it is accepted with (`CommentWeight.accepted`).
        var weight: Int
        /// Gives back what admitting it counted: for a post the server then fails to store (503),
        /// whose retry must find the buckets, the duplicate window and slow mode as they were.
        /// (A post refused by a check stays charged: that is what keeps a flood of refused posts
        /// in check.)
        var refund: @Sendable () async -> Void
        /// Gives back the buckets and slow mode but keeps the duplicate mark: for a post the
        /// store may have stored (its outcome unknown), whose retry must not store it again.
        var refundKeepingDuplicate: @Sendable () async -> Void
    }

    /// Every check of a post, in order: who may use a pool flag, fields, rate limits, the word
    /// filter, duplicates, then the store's bans, style limits and slow mode for `room` (a
    /// video's scope, for a video's comment).
    func admit(room: RoomID, request: CommentRequest, author: CommentAuthor, clientAddress: String) async -> Result<Admitted, DanmakuError> {
        let screened: Screened
        switch TracedSteps.step("danmaku.check", { _ in screenPost(room: room, request: request, author: author, clientAddress: clientAddress) }) {
        case .success(let value): screened = value
        case .failure(let error): return .failure(error)
        }
        let store: Result<DanmakuError?, any Error>
        do {
            let styled = Self.styled(screened, by: author)
            store = .success(try await TracedSteps.step("danmaku.admit") { _ in try await moderation.admit(user: author.id, room: room, styled: styled) })
        } catch {
            store = .failure(error)
        }
        return settle(screened, store: store, room: room, author: author).map { weight in
            makeAdmitted(screened, weight: weight, room: room, author: author)
        }
    }

    /// A screened post as admitted with `weight`, with what giving back its counts takes.
    private func makeAdmitted(_ screened: Screened, weight: Int, room: RoomID, author: CommentAuthor) -> Admitted {
        let (keys, normalized) = (screened.keys, screened.normalized)
        let refundKeepingDuplicate: @Sendable () async -> Void = { [limiter, moderation] in
            limiter.refund(keys: keys)
            await moderation.refund(user: author.id, room: room)
        }
        let refund: @Sendable () async -> Void = { [duplicates] in
            await refundKeepingDuplicate()
            duplicates.forget(user: author.id, normalizedText: normalized)
        }
        return Admitted(
            draft: screened.draft, text: screened.text, now: screened.now, weight: weight, refund: refund,
            refundKeepingDuplicate: refundKeepingDuplicate)
    }

    /// The moderation store, when it checks a post and appends it to `log` in one step
    /// (`AppendingModeration`: Redis, one script call a post instead of two).
    func appending(with log: any CommentLog) -> (any AppendingModeration)? {
        guard let appending = moderation as? any AppendingModeration, appending.isKept(with: log) else { return nil }
        return appending
    }

    /// `admit` with the store's checks and the append in one step (`appending`): the checks in
    /// memory and the weight first, then `record` of what they made, appended if the store admits
    /// it. Answers what was stored, or why not; the store's counts are given back only for a post
    /// it admitted and then withdrew (`AdmittedThenWithdrawn`), as after a separate append that
    /// failed, never when whether it admitted the post is not known.
    func admitAndAppend(
        room: RoomID, request: CommentRequest, author: CommentAuthor, clientAddress: String, appending: any AppendingModeration,
        record: (Admitted) -> ByteBuffer
    ) async -> Result<(admitted: Admitted, stored: EncodedComment), StoreFailure> {
        let screened: Screened
        switch TracedSteps.step("danmaku.check", { _ in screenPost(room: room, request: request, author: author, clientAddress: clientAddress) }) {
        case .success(let value): screened = value
        case .failure(let error): return .failure(.notStored(error))
        }
        let (keys, normalized) = (screened.keys, screened.normalized)
        // Weighed before the store admits it (`settle` weighs after): the record carries its weight.
        let weight = CommentWeight.accepted(author: author, penalty: records.penalty(of: author.id, room: room, now: screened.now))
        let admitted = makeAdmitted(screened, weight: weight, room: room, author: author)
        let unnumbered = record(admitted)
        let styled = Self.styled(screened, by: author)
        do {
            // One span for the one step (on Redis `danmaku.admit` and `danmaku.store` are one call).
            let outcome = try await TracedSteps.step("danmaku.store") { span in
                let outcome = try await appending.admitAndAppend(user: author.id, room: room, styled: styled, unnumbered: unnumbered)
                if case .success(let stored) = outcome { span.attributes["danmaku.seq"] = Int(clamping: stored.seq) }
                return outcome
            }
            return settled(outcome, admitted: admitted, user: author.id, normalized: normalized)
        } catch let error as AdmittedThenWithdrawn {
            // Admitted, stored, then taken back: what admitting it counted is given back, as after
            // a separate append that failed.
            await admitted.refund()
            return .failure(.notStored(.busUnavailable(error.description)))
        } catch let error as AppendOutcomeUnknown {
            // Whether the store admitted it (and counted it) or refused it is not known: its marks
            // stay (a slow-mode mark of an earlier post must not be lifted by a refusal whose
            // answer was lost), and so does the duplicate mark of a post that may be stored.
            limiter.refund(keys: keys)
            return .failure(.mayBeStored(.storeOutcomeUnknown(error.description)))
        } catch {
            // Not run, or failed before it answered: nothing of the store's is given back, as when
            // a separate admission failed.
            limiter.refund(keys: keys)
            duplicates.forget(user: author.id, normalizedText: normalized)
            return .failure(.notStored(.busUnavailable(String(describing: error))))
        }
    }

    /// `admitAndAppend` on the caller's loop, its outcome through a future: the checks in memory
    /// and the weight now, then the store's one call (`LoopAppendingModeration`, only when
    /// `appendsInOneCall`), with the same refusals and the same counts given back. The future
    /// completes on the store's loop once the call was made (on `eventLoop` when refused before
    /// it): the caller publishes there, in the order the store numbered, then hops.
    func admitAndAppendOnLoop(
        room: RoomID, request: CommentRequest, author: CommentAuthor, clientAddress: String, appending: any LoopAppendingModeration,
        on eventLoop: any EventLoop, record: (Admitted) -> ByteBuffer
    ) -> EventLoopFuture<Result<(admitted: Admitted, stored: EncodedComment), StoreFailure>> {
        let screened: Screened
        switch screenPost(room: room, request: request, author: author, clientAddress: clientAddress) {
        case .success(let value): screened = value
        case .failure(let error): return eventLoop.makeSucceededFuture(.failure(.notStored(error)))
        }
        let (keys, normalized) = (screened.keys, screened.normalized)
        let weight = CommentWeight.accepted(author: author, penalty: records.penalty(of: author.id, room: room, now: screened.now))
        let admitted = makeAdmitted(screened, weight: weight, room: room, author: author)
        let unnumbered = record(admitted)
        let styled = Self.styled(screened, by: author)
        let (limiter, duplicates) = (limiter, duplicates)
        return appending.admitAndAppendOnLoop(user: author.id, room: room, styled: styled, unnumbered: unnumbered)
            .map { [self] outcome in settled(outcome, admitted: admitted, user: author.id, normalized: normalized) }
            .recover { error in
                // As `admitAndAppend`: an outcome not known keeps the marks a stored post would
                // have; a call that did not run gives back the buckets and the duplicate mark.
                // (A withdrawn comment, which gives back the store's marks too, needs replicas:
                // such a store does not append in one call.)
                limiter.refund(keys: keys)
                if let unknown = error as? AppendOutcomeUnknown {
                    return .failure(.mayBeStored(.storeOutcomeUnknown(unknown.description)))
                }
                duplicates.forget(user: author.id, normalizedText: normalized)
                return .failure(.notStored(.busUnavailable(String(describing: error))))
            }
    }

    /// What the store answered a post admitted in one step: stored, or its refusal.
    private func settled(
        _ outcome: Result<EncodedComment, DanmakuError>, admitted: Admitted, user: String, normalized: String
    ) -> Result<(admitted: Admitted, stored: EncodedComment), StoreFailure> {
        switch outcome {
        case .success(let stored):
            return .success((admitted, stored))
        case .failure(let refused):
            // The same words without the style are a new post, not a duplicate of this one.
            if refused == .styleNotAllowed { duplicates.forget(user: user, normalizedText: normalized) }
            return .failure(.notStored(refused))
        }
    }

    /// `admit`, answered before it returns, with moderation state held in this process
    /// (`ImmediatePosting`); its post is then stored by a log that cannot fail, so nothing it
    /// counted is ever given back.
    func admitNow(
        room: RoomID, request: CommentRequest, author: CommentAuthor, clientAddress: String, moderation: any ImmediateModeration
    ) -> Result<(screened: Screened, weight: Int), DanmakuError> {
        let screened: Screened
        switch screenPost(room: room, request: request, author: author, clientAddress: clientAddress) {
        case .success(let value): screened = value
        case .failure(let error): return .failure(error)
        }
        let refused = moderation.admitNow(user: author.id, room: room, styled: Self.styled(screened, by: author))
        return settle(screened, store: .success(refused), room: room, author: author).map { (screened, $0) }
    }

    /// The checks before the store's: who may use a pool flag, then `screen`.
    private func screenPost(room: RoomID, request: CommentRequest, author: CommentAuthor, clientAddress: String) -> Result<Screened, DanmakuError> {
        // Subtitles and special comments are for the room's staff (checked before anything is charged).
        if request.pool == true, author.role == nil { return .failure(.poolNotAllowed) }
        return screen(room: room, request: request, author: author, clientAddress: clientAddress)
    }

    /// Styles beyond the basics from someone who is not the room's staff: the room decides.
    private static func styled(_ screened: Screened, by author: CommentAuthor) -> Bool {
        author.role == nil && screened.draft.isStyled
    }

    /// What the store's checks (`ModerationStore.admit`, last, so that only a post that passed
    /// every other check counts towards slow mode) make of a screened post: the weight it is
    /// accepted with, or the refusal.
    private func settle(
        _ screened: Screened, store: Result<DanmakuError?, any Error>, room: RoomID, author: CommentAuthor
    ) -> Result<Int, DanmakuError> {
        switch store {
        case .failure(let error):
            limiter.refund(keys: screened.keys)
            duplicates.forget(user: author.id, normalizedText: screened.normalized)
            return .failure(.busUnavailable(String(describing: error)))
        case .success(let refused?):
            // The same words without the style are a new post, not a duplicate of this one.
            if refused == .styleNotAllowed { duplicates.forget(user: author.id, normalizedText: screened.normalized) }
            return .failure(refused)
        case .success(nil):
            return .success(CommentWeight.accepted(author: author, penalty: records.penalty(of: author.id, room: room, now: screened.now)))
        }
    }
}
