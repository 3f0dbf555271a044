// Danmaku — a live-stream bullet-comment service.

import DanmakuCore
import Synchronization

/// Video pools kept in this process (a single-process server without `--data-dir`): gone on
/// restart, like the memory bus's rooms.
///
/// Bounded twice: each pool by the `limit` its caller passes, and all pools together by
/// `maxComments`, past which adding fails like a full pool.
public final class MemoryVideoPools: VideoPoolStore {
    private struct Pool {
        var comments: [String: VideoComment] = [:]
        var likers: [String: Set<String>] = [:]
        var lastSeq: UInt64 = 0
    }

    private let pools = Mutex<(byVideo: [VideoID: Pool], total: Int)>(([:], 0))
    /// The most comments all pools together may hold.
    public let maxComments: Int

    public init(maxComments: Int = 1_000_000) {
        self.maxComments = maxComments
    }

    public func add(_ comments: [VideoComment], video: VideoID, limit: Int) async throws -> [VideoComment] {
        try pools.withLock { state in
            var pool = state.byVideo[video] ?? Pool()
            var seen = Set<String>()
            let new = comments.filter { pool.comments[$0.id] == nil && seen.insert($0.id).inserted }
            if pool.comments.count + new.count > limit { throw VideoPoolFull(limit: limit) }
            if state.total + new.count > maxComments { throw VideoPoolFull(limit: pool.comments.count) }
            let added = new.map { comment in
                var numbered = comment
                pool.lastSeq += 1
                numbered.seq = pool.lastSeq
                numbered.likes = nil
                pool.comments[numbered.id] = numbered
                return numbered
            }
            state.total += added.count
            state.byVideo[video] = pool
            return added
        }
    }

    public func comments(video: VideoID, offsets: Range<Int64>) async throws -> [VideoComment] {
        pools.withLock { state in
            guard let pool = state.byVideo[video] else { return [] }
            return pool.comments.values.filter { offsets.contains($0.offsetMs) }
                .map { Self.counted($0, in: pool) }
                .sorted { ($0.offsetMs, $0.seq) < ($1.offsetMs, $1.seq) }
        }
    }

    public func comment(video: VideoID, id: String) async throws -> VideoComment? {
        pools.withLock { state in
            guard let pool = state.byVideo[video], let comment = pool.comments[id] else { return nil }
            return Self.counted(comment, in: pool)
        }
    }

    public func like(video: VideoID, id: String, user: String) async throws -> (count: Int, added: Bool)? {
        pools.withLock { state in
            guard state.byVideo[video]?.comments[id] != nil else { return nil }
            let added = state.byVideo[video]!.likers[id, default: []].insert(user).inserted
            return (state.byVideo[video]!.likers[id]!.count, added)
        }
    }

    public func remove(video: VideoID, id: String) async throws -> Bool {
        pools.withLock { state in
            guard state.byVideo[video]?.comments.removeValue(forKey: id) != nil else { return false }
            state.byVideo[video]?.likers[id] = nil
            state.total -= 1
            return true
        }
    }

    private static func counted(_ comment: VideoComment, in pool: Pool) -> VideoComment {
        var counted = comment
        let likes = pool.likers[comment.id]?.count ?? 0
        counted.likes = likes > 0 ? likes : nil
        return counted
    }
}
