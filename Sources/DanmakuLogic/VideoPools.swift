// Danmaku — a live-stream bullet-comment service.

import DanmakuBus
import DanmakuCore
import Foundation

/// Video pools: comments pinned to moments of a recorded video, posted through the same checks
/// as a live comment (the video's scope is the room of its name), fetched by six-minute segment.
public struct VideoPools: Sendable {
    let configuration: LogicConfiguration
    let authenticator: any PostAuthenticator
    let admission: CommentAdmission
    let videos: any VideoPoolStore
    /// Streams and the archive of every comment, for publishing a stream as a pool; nil without one.
    let replay: (any ReplayStore)?
    let idempotency: IdempotentPosts
    let likers: Likers
    let recallWindow: RecallWindow
    let metrics: LogicMetrics

    /// Checks and adds one comment to `video`'s pool at `offsetMs`. With `idempotencyKey`, a retry
    /// by the same author gets the first post's comment back (`IdempotentPosts`).
    public func postVideoComment(
        video: VideoID, request: CommentRequest, offsetMs: Int64, token: String?, clientAddress: String,
        idempotencyKey: IdempotencyKey? = nil
    ) async -> Result<VideoComment, DanmakuError> {
        let started = ContinuousClock.now
        let result: Result<VideoComment, DanmakuError>
        switch await authenticator.author(token: token, room: video.scope, clientAddress: clientAddress) {
        case .success(let author):
            // The scope is the video pool's hash tag (`{video:ID}`), so a Redis record shares its slot.
            let asked = ((try? WireCodec.encode(request)).map { Array($0.readableBytesView) } ?? []) + Array(String(offsetMs).utf8)
            result = await idempotency.perform(
                idempotencyKey, kind: .videoComment, scope: "video:" + video.value, principal: author.id, request: asked
            ) {
                await addVideoComment(
                    video: video, request: request, offsetMs: offsetMs, author: author, token: token, clientAddress: clientAddress)
            }
        case .failure(let error):
            result = .failure(error)
        }
        switch result {
        case .success: metrics.didAccept(after: .now - started)
        case .failure(let error): metrics.didReject(error, after: .now - started)
        }
        return result
    }

    /// Only the video's staff may start its pool (in open mode, where nobody can prove to be
    /// staff, any post may): the staff check runs only when there is no pool.
    private func addVideoComment(
        video: VideoID, request: CommentRequest, offsetMs: Int64, author: CommentAuthor, token: String?, clientAddress: String
    ) async -> Result<VideoComment, StoreFailure> {
        let admitted: CommentAdmission.Admitted
        switch await admission.admit(room: video.scope, request: request, author: author, clientAddress: clientAddress) {
        case .success(let value): admitted = value
        case .failure(let error): return .failure(.notStored(error))
        }
        let draft = admitted.draft
        let comment = VideoComment(
            seq: 0, id: RandomID.make(), video: video.value, offsetMs: offsetMs, user: author, text: admitted.text,
            color: draft.color, mode: draft.mode, ts: Int64(saturating: admitted.now * 1000), size: draft.size, pool: draft.pool,
            weight: admitted.weight)
        let limit = configuration.maxVideoComments
        do {
            let added: [VideoComment]
            do {
                added = try await videos.add([comment], video: video, limit: limit, origin: .post(startsPool: false))
            } catch is VideoPoolMissing {
                switch await authenticator.moderator(token: token, room: video.scope) {
                case .success: break
                case .failure(let refusal) where refusal.code == DanmakuError.moderationNeedsTokens.code: break
                case .failure: throw VideoPoolMissing()
                }
                added = try await videos.add([comment], video: video, limit: limit, origin: .post(startsPool: true))
            }
            guard let first = added.first else { throw VideoPoolFull(limit: limit) }
            return .success(first)
        } catch is VideoPoolMissing {
            await admitted.refund()
            return .failure(.notStored(.noVideo))
        } catch let full as VideoPoolFull {
            await admitted.refund()
            return .failure(.notStored(.videoFull(max: full.limit)))
        } catch {
            await admitted.refund()
            return .failure(.notStored(.busUnavailable(String(describing: error))))
        }
    }

    /// Segment `n` of `video`: its comments in offset order, at most `videoSegmentCap` of them
    /// (past it, the privileged, then the most liked, then the newest: the store reads only those).
    public func videoSegment(video: VideoID, segment n: Int64) async -> Result<[VideoComment], DanmakuError> {
        do {
            return .success(try await videos.comments(video: video, segment: n, limit: configuration.videoSegmentCap))
        } catch {
            return .failure(.busUnavailable(String(describing: error)))
        }
    }

    /// `user` likes comment `id` of `video`: counted once per user.
    public func likeVideoComment(video: VideoID, id: String, token: String?, clientAddress: String) async -> Result<LikeCount, DanmakuError> {
        guard EncodedComment.isPlausibleID(id) else { return .failure(.notFound) }
        let author: CommentAuthor
        switch await likers.liker(token: token, room: video.scope, clientAddress: clientAddress) {
        case .success(let who): author = who
        case .failure(let error): return .failure(error)
        }
        do {
            guard let comment = try await videos.comment(video: video, id: id),
                  let (count, _) = try await videos.like(video: video, id: id, user: author.id) else { return .failure(.notFound) }
            return .success(LikeCount(id: id, seq: comment.seq, count: count))
        } catch {
            return .failure(.busUnavailable(String(describing: error)))
        }
    }

    /// Takes comment `id` out of `video`'s pool: a moderator of the video's scope at any time,
    /// its author within `recallSeconds` of posting it. Returns the comment taken out.
    public func removeVideoComment(video: VideoID, id: String, token: String?, clientAddress: String) async -> Result<VideoComment, DanmakuError> {
        guard EncodedComment.isPlausibleID(id) else { return .failure(.notFound) }
        var mayModerate = false
        switch await authenticator.moderator(token: token, room: video.scope) {
        case .success: mayModerate = true
        case .failure(let refusal) where refusal.status == 401: return .failure(refusal)
        case .failure: break
        }
        do {
            guard let comment = try await videos.comment(video: video, id: id) else { return .failure(.notFound) }
            if !mayModerate {
                guard recallWindow.seconds > 0 else { return .failure(.notYourComment) }
                switch await authenticator.author(token: token, room: video.scope, clientAddress: clientAddress) {
                case .success(let author):
                    if let refusal = recallWindow.refusal(by: author, of: comment.user.id, postedAt: comment.ts) { return .failure(refusal) }
                case .failure(let error):
                    return .failure(error)
                }
            }
            guard try await videos.remove(video: video, id: id) else { return .failure(.notFound) }
            return .success(comment)
        } catch {
            return .failure(.busUnavailable(String(describing: error)))
        }
    }

    /// Publishes stream `stream` of `room` (its latest when nil) as `video`'s pool: every comment
    /// the archive kept of it, at its offset from the stream's start, keeping its id, author and
    /// style. The caller must moderate both the room and the video. A stream published twice
    /// adds nothing the second time. Returns the stream and how many comments were added.
    public func publishStream(
        room: RoomID, stream: Int64?, as video: VideoID, token: String?
    ) async -> Result<(stream: StreamRecord, added: Int), DanmakuError> {
        for scope in Set([room, video.scope]) {
            if case .failure(let error) = await authenticator.moderator(token: token, room: scope) { return .failure(error) }
        }
        guard let replay else { return .failure(.noArchive) }
        do {
            guard let record = try await replay.stream(room: room, id: stream) else { return .failure(.noStream) }
            guard let ended = record.endedAt else { return .failure(.streamLive) }
            let limit = configuration.maxVideoComments
            // One more than the pool may hold: a stream with more is refused whole, not cut.
            let recorded = try await replay.comments(room: room, from: record.startedAt, to: ended + 1, limit: limit + 1)
            let comments = recorded.compactMap { encoded -> VideoComment? in
                guard let comment = try? encoded.decoded() else { return nil }
                return VideoComment(
                    seq: 0, id: comment.id, video: video.value, offsetMs: max(0, comment.ts - record.startedAt), user: comment.user,
                    text: comment.text, color: comment.color, mode: comment.mode, ts: comment.ts, size: comment.size, pool: comment.pool,
                    weight: comment.weight)
            }
            let added = try await videos.add(comments, video: video, limit: limit, origin: .published)
            return .success((record, added.count))
        } catch let full as VideoPoolFull {
            return .failure(.videoFull(max: full.limit))
        } catch {
            return .failure(.busUnavailable(String(describing: error)))
        }
    }
}
