// Danmaku — a live-stream bullet-comment service.

import DanmakuBus
import DanmakuCore
import Foundation
import NIOCore

/// A room at a glance: what `GET /v1/rooms/{room}` answers.
public struct RoomStats: Encodable, Sendable, Equatable {
    /// The room's id.
    public var room: String
    /// Viewers across the deployment, as of the last presence exchange.
    public var online: Int
    /// The room's latest seq (0 when nothing was ever posted).
    public var lastSeq: UInt64
    /// Comments accepted per second over the last ten seconds.
    public var commentsPerSecond: Double
}

/// The room queries: one room at a glance, the busiest rooms, a room's history. The ports they
/// read (the comment log, the online counts) and nothing else.
public struct RoomQueries: Sendable {
    let log: any CommentLog
    let online: OnlineDirectory
    let cache = RoomStatsCache()

    /// - Parameters:
    ///   - log: the rooms' numbered history.
    ///   - online: viewers per room across the deployment.
    public init(log: any CommentLog, online: OnlineDirectory) {
        self.log = log
        self.online = online
    }

    /// The span `commentsPerSecond` is measured over.
    static let rateWindowMilliseconds: Int64 = 10_000
    /// The most recent comments read to measure it (a busier room is measured over a shorter span).
    static let rateSample = 1000

    /// `room`'s online count, latest seq and recent comment rate, read from history (at most once
    /// a second per room: `RoomStatsCache`).
    public func stats(room: RoomID, on eventLoop: any EventLoop) async -> Result<RoomStats, DanmakuError> {
        let now = currentTimeMillis()
        if let cached = cache.stats(room, now: now) { return .success(cached) }
        let read = try? await history(room: room, since: nil, limit: Self.rateSample, on: eventLoop).get()
        switch read ?? .failure(.busUnavailable("history unavailable")) {
        case .success(let snapshot):
            let rate = Self.rate(of: snapshot.comments, now: now)
            let stats = RoomStats(room: room.value, online: online.count(room), lastSeq: snapshot.lastSeq, commentsPerSecond: rate)
            cache.store(stats, room: room, now: now)
            return .success(stats)
        case .failure(let error):
            return .failure(error)
        }
    }

    /// The `limit` rooms with the most viewers, most first.
    public func busiestRooms(limit: Int, on eventLoop: any EventLoop) async -> Result<[RoomStats], DanmakuError> {
        var answer: [RoomStats] = []
        for (room, _) in online.busiest(limit) {
            switch await stats(room: room, on: eventLoop) {
            case .success(let stats): answer.append(stats)
            case .failure(let error): return .failure(error)
            }
        }
        return .success(answer)
    }

    /// Comments per second over the rate window, from the latest comments (oldest first); when
    /// all of them fall inside the window, over the span they cover, rounded to 0.1.
    static func rate(of comments: [EncodedComment], now: Int64) -> Double {
        let times = comments.compactMap(\.acceptedAtMilliseconds)
        let recent = times.filter { $0 > now - rateWindowMilliseconds }
        guard let oldest = recent.first else { return 0 }
        var perSecond = Double(recent.count) * 1000 / Double(rateWindowMilliseconds)
        if recent.count == rateSample {
            // The sample is full and younger than the window: measure over the span it covers.
            perSecond = Double(recent.count) * 1000 / Double(max(1000, now - oldest))
        }
        return (perSecond * 10).rounded() / 10
    }

    /// History of a room, as the HTTP API serves it.
    public func history(room: RoomID, since: UInt64?, limit: Int, on eventLoop: any EventLoop) -> EventLoopFuture<Result<HistorySnapshot, DanmakuError>> {
        log.snapshot(room: room, since: since, limit: limit, on: eventLoop).map { .success($0) }
            .recover { .failure(.busUnavailable(String(describing: $0))) }
    }
}
