// Danmaku — a live-stream bullet-comment service.

import DanmakuBus
import DanmakuCore
import DanmakuLogic
import NIOCore

/// `GET /v1/rooms/{room}/comments?since=&limit=&epoch=`: the room's history, read on the
/// connection's loop (no task hop: this is the read a reconnecting crowd makes).
struct HistoryAPI {
    let rooms: RoomQueries
    let configuration: IngestConfiguration

    func answer(room: RoomID, target: RequestTarget, on loop: any EventLoop) -> EventLoopFuture<ModerationAPI.Answer> {
        let since: UInt64?
        let limit: Int
        let epoch: Int64?
        switch (target.since, target.integer("limit", in: 1...configuration.maxHistoryLimit, default: configuration.defaultHistoryLimit), target.epoch) {
        case (.failure(let error), _, _), (_, .failure(let error), _), (_, _, .failure(let error)):
            return loop.makeSucceededFuture(.failure(error))
        case (.success(let parsedSince), .success(let parsedLimit), .success(let parsedEpoch)):
            (since, limit, epoch) = (parsedSince, parsedLimit, parsedEpoch)
        }
        let rooms = self.rooms
        return rooms.history(room: room, since: since, limit: limit, on: loop).flatMap { result in
            // `since` in another epoch: this numbering from its start instead.
            guard case .success(let snapshot) = result, let epoch, epoch != 0, since != nil, epoch != snapshot.epoch else {
                return loop.makeSucceededFuture(result)
            }
            return rooms.history(room: room, since: 0, limit: limit, on: loop)
        }.map { result in result.map { Self.body(room: room, snapshot: $0) } }
    }

    /// `{"room":…,"comments":[…],"lastSeq":…,"epoch":…}`, with each comment's stored JSON copied in.
    static func body(room: RoomID, snapshot: HistorySnapshot) -> ByteBuffer {
        var body = ByteBuffer()
        body.reserveCapacity(64 + WireCodec.arrayLength(of: snapshot.comments))
        body.writeString(#"{"room":""#)
        body.writeString(room.value)
        body.writeString(#"","comments":"#)
        WireCodec.writeArray(of: snapshot.comments, into: &body)
        body.writeString(#","lastSeq":\#(snapshot.lastSeq),"epoch":\#(snapshot.epoch)}"#)
        return body
    }
}
