// Danmaku — a live-stream bullet-comment service.

import DanmakuBus
import DanmakuCore
import NIOCore
import Tracing

/// Stores records (comments, notices) with the log and publishes them to the room's viewers,
/// and takes them back: what every kind of post and retraction ends with.
///
/// The answer waits for the store, never for the publish: a stored record that could not be
/// published live is still in history, so resuming viewers get it.
struct RecordPublisher: Sendable {
    let log: any CommentLog
    let bus: any CommentBus
    /// Told when a stored record (or a retraction, a like count) could not be published live.
    let onPublishFailure: @Sendable (any Error) -> Void

    /// Numbers and stores a record with the log, then publishes it.
    func storeAndPublish(room: RoomID, _ unnumbered: () throws -> ByteBuffer) async -> Result<EncodedComment, StoreFailure> {
        let stored: EncodedComment
        do {
            let record = try unnumbered()
            stored = try await TracedSteps.step("danmaku.store") { span in
                let stored = try await log.append(room: room, unnumbered: record)
                span.attributes["danmaku.seq"] = Int(clamping: stored.seq)
                return stored
            }
        } catch let error as AppendOutcomeUnknown {
            return .failure(.mayBeStored(.storeOutcomeUnknown(error.description)))
        } catch {
            return .failure(.notStored(.busUnavailable(String(describing: error))))
        }
        await publish(stored, room: room)
        return .success(stored)
    }

    /// Publishes a stored record to the room's viewers (a failure is told, not thrown: the record
    /// is in history, and resuming viewers get it).
    func publish(_ stored: EncodedComment, room: RoomID) async {
        // In process, the push hub hands this span's context on to the batch that carries the
        // comment (`danmaku.push`).
        do {
            try await TracedSteps.step("danmaku.publish", ofKind: .producer) { _ in try await bus.publish([stored], room: room) }
        } catch {
            onPublishFailure(error)
        }
    }

    /// Takes record `id` back: out of history, and off the screens of the room's viewers.
    /// Returns its seq, or `not_found` when history does not hold it (too old, or unknown).
    /// `reason` goes to viewers with the retraction (nil when taken back by hand).
    func retract(room: RoomID, id: String, reason: RetractReason? = nil) async -> Result<UInt64, DanmakuError> {
        guard EncodedComment.isPlausibleID(id) else { return .failure(.notFound) }
        let seq: UInt64?
        do {
            seq = try await log.retract(room: room, id: id, reason: reason)
        } catch {
            return .failure(.busUnavailable(String(describing: error)))
        }
        guard let seq else { return .failure(.notFound) }
        do {
            try await bus.publishRetraction(seq: seq, id: id, room: room, reason: reason)
        } catch {
            // History no longer has it, but viewers connected now keep it on screen (a reconnect
            // does not take it back either: docs/GUARANTEES.md). On Redis the deleting script has
            // published the retraction itself.
            onPublishFailure(error)
        }
        return .success(seq)
    }

    /// Sends new like counts to the room's viewers; a count that cannot be sent is kept (viewers
    /// see it with the comment's next like).
    func publishLikes(_ counts: [LikeCount], room: RoomID) async {
        do {
            try await bus.publishLikes(counts, room: room)
        } catch {
            onPublishFailure(error)
        }
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
