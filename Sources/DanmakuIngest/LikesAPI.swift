// Danmaku — a live-stream bullet-comment service.

import DanmakuCore
import DanmakuLogic
import Foundation
import NIOCore

/// `POST /v1/rooms/{room}/comments/{id}/likes` with `{"seq": N}`: the caller likes the comment,
/// once however often they ask; the answer is its count.
struct LikesAPI {
    let likes: CommentLikes

    private struct Request: Decodable {
        var seq: UInt64
    }

    /// A like's answer, for live and video comments: `{"id","seq","likes"}`.
    struct Answer: Encodable {
        var id: String
        var seq: UInt64
        var likes: Int

        init(_ like: LikeCount) {
            (id, seq, likes) = (like.id, like.seq, like.count)
        }
    }

    /// The seqs a like may name.
    static let seqRange: ClosedRange<UInt64> = 1...ClientNumber.maxSeq

    func like(room: RoomID, id: String, body: ByteBuffer, token: String?, clientAddress: String, on loop: any EventLoop) async -> ModerationAPI.Answer {
        // A seq that is not a whole number in range fails decoding or the range check: a 400
        // naming the field, never a trap.
        guard let request = try? JSONDecoder().decode(Request.self, from: Data(body.readableBytesView)),
              Self.seqRange.contains(request.seq) else {
            return .failure(ClientNumber.refusal("seq", Self.seqRange))
        }
        switch await likes.like(room: room, id: id, seq: request.seq, token: token, clientAddress: clientAddress, on: loop) {
        case .success(let like):
            return .success(RoomsAPI.encode(Answer(like)))
        case .failure(let error):
            return .failure(error)
        }
    }
}
