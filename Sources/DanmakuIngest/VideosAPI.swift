// Danmaku — a live-stream bullet-comment service.

import DanmakuCore
import DanmakuLogic
import Foundation
import NIOCore
import NIOHTTP1

/// The video endpoints: comments pinned to moments of a recorded video, fetched by six-minute
/// segment, liked, taken back, and a finished stream published as a video's pool.
struct VideosAPI: Sendable {
    let videos: VideoPools

    /// An answer with its status and extra headers (a segment's `ETag`, a 304).
    struct Reply: Sendable {
        var status: HTTPResponseStatus
        var body: ByteBuffer
        var headers: HTTPHeaders = [:]
    }

    typealias Answer = Result<Reply, DanmakuError>

    /// How long a client or a proxy may keep a segment without asking again; after that the
    /// `ETag` makes asking cheap (304). Short: a segment takes new comments and likes.
    static let cacheControl = "public, max-age=10"

    private struct Offset: Decodable {
        var offsetMs: UInt64
    }

    private struct Created: Encodable {
        var id: String
        var video: String
        var seq: UInt64
        var offsetMs: Int64
        var ts: Int64
    }

    /// `POST /v1/videos/{video}/comments` with the fields of a live comment and `offsetMs`; a retry
    /// with the first post's `Idempotency-Key` gets its answer again.
    func post(video: VideoID, body: ByteBuffer, token: String?, clientAddress: String, idempotencyKey: IdempotencyKey?) async -> Answer {
        let bytes = Array(body.readableBytesView)
        let request: CommentRequest
        switch CommentRequest.decode(from: bytes) {
        case .success(let decoded): request = decoded
        case .failure(let error): return .failure(error)
        }
        let offsets = 0...ClientNumber.maxOffsetMilliseconds
        // A number that is not a whole one in range fails decoding or the range check: a 400
        // naming the field, never a trap.
        guard let offset = try? JSONDecoder().decode(Offset.self, from: Data(bytes)), offsets.contains(offset.offsetMs) else {
            return .failure(ClientNumber.refusal("offsetMs", offsets))
        }
        return await videos.postVideoComment(
            video: video, request: request, offsetMs: Int64(clamping: offset.offsetMs), token: token, clientAddress: clientAddress,
            idempotencyKey: idempotencyKey
        ).map { comment in
            Reply(status: .created, body: RoomsAPI.encode(Created(id: comment.id, video: video.value, seq: comment.seq, offsetMs: comment.offsetMs, ts: comment.ts)))
        }
    }

    private struct Segment: Encodable {
        var video: String
        var segment: Int64
        var from: Int64
        var to: Int64
        var comments: [VideoComment]
    }

    /// `GET /v1/videos/{video}/segments/{n}`: 200 with the segment and its `ETag`, or 304 when
    /// `If-None-Match` names that tag. With `minWeight` (1–10), only the comments that weigh at
    /// least that much (`CommentWeight`): a player at a shielding level fetches less.
    func segment(video: VideoID, segment raw: String, minWeight: Int, ifNoneMatch: [String]) async -> Answer {
        let n: Int64
        switch ClientNumber.parse(raw, name: "segment", in: VideoSegment.numbers) {
        case .failure(let error): return .failure(error)
        case .success(let value): n = Int64(value)
        }
        return await videos.videoSegment(video: video, segment: n).map { all in
            let comments = minWeight > CommentWeight.range.lowerBound ? all.filter { $0.currentWeight >= minWeight } : all
            let offsets = VideoSegment.offsets(of: n)
            let body = RoomsAPI.encode(Segment(video: video.value, segment: n, from: offsets.lowerBound, to: offsets.upperBound, comments: comments))
            let tag = Self.entityTag(of: body)
            var headers = HTTPHeaders()
            headers.add(name: "ETag", value: tag)
            headers.add(name: "Cache-Control", value: Self.cacheControl)
            if Self.matches(tag, ifNoneMatch) { return Reply(status: .notModified, body: ByteBuffer(), headers: headers) }
            return Reply(status: .ok, body: body, headers: headers)
        }
    }

    /// A strong entity tag of `body`: 64-bit FNV-1a of its bytes. The body says everything a
    /// segment is (its comments and their like counts), so equal tags mean equal answers.
    static func entityTag(of body: ByteBuffer) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in body.readableBytesView {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
        }
        return "\"\(String(hash, radix: 16))\""
    }

    /// Whether `If-None-Match` (every value of the header; lists, `*` and weak tags allowed)
    /// names `tag`.
    static func matches(_ tag: String, _ ifNoneMatch: [String]) -> Bool {
        ifNoneMatch.flatMap { $0.split(separator: ",") }.contains { candidate in
            let trimmed = candidate.trimmingCharacters(in: .whitespaces)
            return trimmed == "*" || trimmed == tag || trimmed == "W/" + tag
        }
    }

    /// `POST /v1/videos/{video}/comments/{id}/likes`: once per user; the comment's count.
    func like(video: VideoID, id: String, token: String?, clientAddress: String) async -> Answer {
        await videos.likeVideoComment(video: video, id: id, token: token, clientAddress: clientAddress).map {
            Reply(status: .ok, body: RoomsAPI.encode(LikesAPI.Answer($0)))
        }
    }

    private struct Removed: Encodable {
        var video: String
        var id: String
        var seq: UInt64
    }

    /// `DELETE /v1/videos/{video}/comments/{id}`: a moderator, or the author within the recall window.
    func remove(video: VideoID, id: String, token: String?, clientAddress: String) async -> Answer {
        await videos.removeVideoComment(video: video, id: id, token: token, clientAddress: clientAddress).map {
            Reply(status: .ok, body: RoomsAPI.encode(Removed(video: video.value, id: $0.id, seq: $0.seq)))
        }
    }

    private struct PublishRequest: Decodable {
        var room: String
        var stream: UInt64?
    }

    private struct Published: Encodable {
        var video: String
        var room: String
        var stream: Int64
        var startedAt: Int64
        var endedAt: Int64?
        var added: Int
    }

    /// `POST /v1/videos/{video}/publish` with `{"room": R, "stream": N}` (the latest stream when
    /// `stream` is absent): the stream's comments become the video's pool.
    func publish(video: VideoID, body: ByteBuffer, token: String?) async -> Answer {
        guard let request = try? JSONDecoder().decode(PublishRequest.self, from: Data(body.readableBytesView)) else {
            return .failure(.invalidJSON(#"expected {"room": "ROOM", "stream": N}"#))
        }
        guard let room = RoomID(request.room) else { return .failure(.invalidRoom) }
        let streams = 1...ClientNumber.maxSeq
        if let stream = request.stream, !streams.contains(stream) { return .failure(ClientNumber.refusal("stream", streams)) }
        return await videos.publishStream(room: room, stream: request.stream.map { Int64($0) }, as: video, token: token).map { result in
            let published = Published(
                video: video.value, room: room.value, stream: result.stream.stream, startedAt: result.stream.startedAt,
                endedAt: result.stream.endedAt, added: result.added)
            return Reply(status: .ok, body: RoomsAPI.encode(published))
        }
    }
}
