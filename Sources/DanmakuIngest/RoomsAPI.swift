// Danmaku — a live-stream bullet-comment service.

import DanmakuCore
import DanmakuLogic
import Foundation
import NIOCore

/// The read-only room endpoints: one room at a glance, and the busiest rooms. Open to anyone,
/// like watching.
struct RoomsAPI: Sendable {
    let service: CommentService

    /// The most rooms `?top=` may ask for.
    static let maxTop = 100

    struct Busiest: Encodable {
        var rooms: [RoomStats]
    }

    /// `GET /v1/rooms/{room}`.
    func stats(room: RoomID, on eventLoop: any EventLoop) async -> ModerationAPI.Answer {
        await service.stats(room: room, on: eventLoop).map(Self.encode)
    }

    /// `GET /v1/rooms?top=N`.
    func busiest(target: RequestTarget, on eventLoop: any EventLoop) async -> ModerationAPI.Answer {
        let top: UInt64
        switch target.unsignedInteger("top") {
        case .failure(let error): return .failure(error)
        case .success(let value): top = value ?? 10
        }
        guard (1...UInt64(Self.maxTop)).contains(top) else {
            return .failure(.invalidField("top", "top must be between 1 and \(Self.maxTop)"))
        }
        return await service.busiestRooms(limit: Int(top), on: eventLoop).map { Self.encode(Busiest(rooms: $0)) }
    }

    static func encode(_ value: some Encodable) -> ByteBuffer {
        (try? WireCodec.encode(value)) ?? ByteBuffer(string: "{}")
    }
}
