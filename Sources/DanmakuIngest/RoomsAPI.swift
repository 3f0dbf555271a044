// Danmaku — a live-stream bullet-comment service.

import DanmakuBus
import DanmakuCore
import DanmakuLogic
import Foundation
import NIOCore

/// The read-only room endpoints: one room at a glance, and the busiest rooms. Open to anyone,
/// like watching.
struct RoomsAPI: Sendable {
    /// Room stats and the busiest rooms.
    let rooms: RoomQueries
    /// Who may start and end a stream.
    let moderationAPI: ModerationAPI
    /// Streams and the archive; nil without one.
    let replay: (any ReplayStore)?

    /// The most rooms `?top=` may ask for.
    static let maxTop = 100

    struct Busiest: Encodable {
        var rooms: [RoomStats]
    }

    /// `GET /v1/rooms/{room}`.
    func stats(room: RoomID, on eventLoop: any EventLoop) async -> ModerationAPI.Answer {
        await rooms.stats(room: room, on: eventLoop).map(Self.encode)
    }

    /// `GET /v1/rooms?top=N`.
    func busiest(target: RequestTarget, on eventLoop: any EventLoop) async -> ModerationAPI.Answer {
        let top: Int
        switch target.integer("top", in: 1...Self.maxTop, default: 10) {
        case .failure(let error): return .failure(error)
        case .success(let value): top = value
        }
        return await rooms.busiestRooms(limit: top, on: eventLoop).map { Self.encode(Busiest(rooms: $0)) }
    }

    // MARK: Streams and replay

    /// The most comments one replay answer carries (`?limit=`, default 1000).
    static let maxReplayLimit = 5000

    /// `POST /v1/rooms/{room}/live` (start) and `DELETE` (end): a streamer of the room, a
    /// moderator or an admin.
    func live(room: RoomID, start: Bool, token: String?) async -> ModerationAPI.Answer {
        guard let replay else { return .failure(.noArchive) }
        // Who may, and what a store failure answers, as for the moderation calls.
        return await moderationAPI.authorized(token: token, room: room) {
            let now = currentTimeMillis()
            if start { return .success(Self.encode(try await replay.startStream(room: room, now: now))) }
            guard let ended = try await replay.endStream(room: room, now: now) else { return .failure(.notLive) }
            return .success(Self.encode(ended))
        }
    }

    /// `GET /v1/rooms/{room}/replay?from=MS&to=MS[&stream=ID][&limit=N]`: the comments of a stream
    /// (the latest by default) between two offsets from its start, each with its `offset`.
    func replay(room: RoomID, target: RequestTarget) async -> ModerationAPI.Answer {
        // Offsets are bounded by a century of milliseconds, so `startedAt + offset` cannot overflow.
        let offsets: ClosedRange<UInt64> = 0...ClientNumber.maxOffsetMilliseconds
        let parsed: (from: UInt64?, to: UInt64?, stream: UInt64?, limit: Int)
        switch (
            target.number("from", in: offsets), target.number("to", in: offsets), target.number("stream", in: 1...ClientNumber.maxSeq),
            target.integer("limit", in: 1...Self.maxReplayLimit, default: 1000)
        ) {
        case (.failure(let error), _, _, _), (_, .failure(let error), _, _), (_, _, .failure(let error), _), (_, _, _, .failure(let error)):
            return .failure(error)
        case (.success(let from), .success(let to), .success(let stream), .success(let limit)):
            parsed = (from, to, stream, limit)
        }
        let limit = parsed.limit
        guard let replay else { return .failure(.noArchive) }
        do {
            guard let stream = try await replay.stream(room: room, id: parsed.stream.map { Int64($0) }) else { return .failure(.noStream) }
            let now = currentTimeMillis()
            let length = min(max(0, (stream.endedAt ?? now) - stream.startedAt), Int64(ClientNumber.maxOffsetMilliseconds))
            let from = Int64(parsed.from ?? 0)
            if let to = parsed.to, to < parsed.from ?? 0 { return .failure(.invalidField("to", "to must not be before from")) }
            // A window past the stream's end is empty, not an error.
            let to = min(Int64(parsed.to ?? UInt64(length) + 1), length + 1)
            let comments = try await replay.comments(room: room, from: stream.startedAt + from, to: stream.startedAt + to, limit: limit)
            return .success(Self.replayBody(stream: stream, comments: comments))
        } catch {
            return .failure(.busUnavailable(String(describing: error)))
        }
    }

    /// `{"room","stream","startedAt","endedAt","comments":[{"offset":MS,"comment":{…}},…]}`, the
    /// stored JSON copied in.
    static func replayBody(stream: StreamRecord, comments: [EncodedComment]) -> ByteBuffer {
        var body = ByteBuffer()
        var head = Self.encode(stream)
        head.moveWriterIndex(to: head.writerIndex - 1)  // reopen the object: `…}` → `…`
        body.writeBuffer(&head)
        body.writeStaticString(",\"comments\":[")
        for (index, comment) in comments.enumerated() {
            if index > 0 { body.writeStaticString(",") }
            body.writeString("{\"offset\":\((comment.acceptedAtMilliseconds ?? stream.startedAt) - stream.startedAt),\"comment\":")
            body.writeImmutableBuffer(comment.json)
            body.writeStaticString("}")
        }
        body.writeStaticString("]}")
        return body
    }

    static func encode(_ value: some Encodable) -> ByteBuffer {
        (try? WireCodec.encode(value)) ?? ByteBuffer(string: "{}")
    }
}
