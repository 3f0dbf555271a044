// Danmaku — a live-stream bullet-comment service.

import DanmakuBus
import DanmakuCore
import Foundation

/// What kind of post a key is used for: a key of one kind never answers a post of another (a
/// comment's receipt reads like a notice's).
enum IdempotentPostKind: String {
    case comment, videoComment = "video", notice, broadcast
}

/// Idempotent posts: the first post with a key reserves it, its answer is remembered for the
/// window, and a retry with the key gets that answer instead of posting again.
///
/// - A post that was stored: the key holds its answer; a retry gets it (the same 201 body).
/// - A post that was not stored (a refusal, a store that did not take it): the key is freed, so
///   a retry is tried afresh.
/// - A post whose store did not confirm (`StoreFailure.mayBeStored`): the key stays taken, and
///   a retry is answered 409 `idempotency_outcome_unknown`, never stored.
/// - A retry while the first post has no answer yet: 409 `idempotency_in_progress`.
/// - The key again with another request (another text, another payload): 422
///   `idempotency_key_reused`, not the first answer (which would say a post was stored that was
///   not). The answer is kept with a fingerprint of the request it answered.
struct IdempotentPosts: Sendable {
    let store: any IdempotencyStore
    /// How long a key and its answer are kept.
    let window: Duration
    let metrics: LogicMetrics

    /// Runs `post` once per `slot` (every time when `slot` is nil) and answers retries from what
    /// the first run answered.
    ///
    /// - Parameters:
    ///   - key: the client's key (nil: none); with `kind`, `scope` and `principal` it names the slot.
    ///   - request: what is asked, as the client sent it (its canonical bytes): a retry must ask
    ///     the same.
    func perform<Answer: Codable & Sendable>(
        _ key: IdempotencyKey?, kind: IdempotentPostKind, scope: String, principal: String, request: some Sequence<UInt8>,
        _ post: () async -> Result<Answer, StoreFailure>
    ) async -> Result<Answer, DanmakuError> {
        guard let key else { return await post().mapError(\.answer) }
        let slot = IdempotencySlot(scope: scope, principal: principal, key: kind.rawValue + ":" + key.value)
        let fingerprint = Self.fingerprint(kind: kind, request: request)
        let held: IdempotencyRecord?
        do {
            held = try await store.reserve(slot, window: window)
        } catch {
            return .failure(.busUnavailable("idempotency reserve: \(error)"))
        }
        switch held {
        case .inFlight: return .failure(.idempotencyInProgress)
        case .outcomeUnknown: return .failure(.idempotencyOutcomeUnknown)
        case .answered(let record):
            // FINGERPRINT LF ANSWER; a record that does not read so was still stored by a first post.
            guard let newline = record.firstIndex(of: 10) else { return .failure(.idempotencyOutcomeUnknown) }
            guard record[..<newline].elementsEqual(fingerprint.utf8) else { return .failure(.idempotencyKeyReused) }
            guard let answer = try? JSONDecoder().decode(Answer.self, from: Data(record[(newline + 1)...])) else {
                return .failure(.idempotencyOutcomeUnknown)
            }
            return .success(answer)
        case nil:
            break
        }
        let result = await post()
        do {
            switch result {
            case .success(let answer):
                let body = try WireCodec.encode(answer)
                try await store.settle(slot, as: .answered(Array(fingerprint.utf8) + [10] + body.readableBytesView), window: window)
            case .failure(.notStored):
                try await store.release(slot)
            case .failure(.mayBeStored):
                try await store.settle(slot, as: .outcomeUnknown, window: window)
            }
        } catch {
            // The key stays reserved (in flight) until its window passes: a retry is refused,
            // never stored twice. The post's own answer stands.
            metrics.didFailIdempotencyStore()
        }
        return result.mapError(\.answer)
    }

    /// The request's fingerprint: FNV-1a (64 bits, hex) of its kind and bytes. A retry sends the
    /// same bytes; two requests that differ collide only by chance, and then only the client's own
    /// posts under its own key are concerned.
    static func fingerprint(kind: IdempotentPostKind, request: some Sequence<UInt8>) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in kind.rawValue.utf8 + [0] { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        for byte in request { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return String(hash, radix: 16)
    }
}
