// Danmaku — a live-stream bullet-comment service.

import DanmakuCore
import Synchronization

/// Video pools kept in this process (a single-process server without `--data-dir`): gone on
/// restart, like the memory bus's rooms.
///
/// Bounded twice: each pool by the allowances of `limit` its caller passes, and all pools
/// together by `maxComments`, past which posts fail like a full pool (a publish does not: staff
/// publish, and their allowance bounds it).
public final class MemoryVideoPools: VideoPoolStore {
    private struct Pool {
        var comments: [String: VideoComment] = [:]
        /// Who liked each comment, at most `maxLikersPerComment` of them (`LikersBound`).
        var likers: [String: Set<String>] = [:]
        /// Likes counted past that bound, without who.
        var likesBeyond: [String: Int] = [:]
        /// Each segment's comments by rank, lowest first: a capped read takes the tail.
        var ranked: [Int64: [Ranked]] = [:]
        var lastSeq: UInt64 = 0
        /// Comments ever published to the pool (never lowered: see `VideoPoolStore.add`).
        var published = 0

        /// A comment's like count.
        func likes(of id: String) -> Int {
            (likers[id]?.count ?? 0) + (likesBeyond[id] ?? 0)
        }

        mutating func insertRank(of comment: VideoComment, likes: Int) {
            let entry = Ranked(comment, likes: likes)
            let segment = VideoSegment.number(of: comment.offsetMs)
            ranked[segment, default: []].insert(entry, at: Self.index(of: entry, in: ranked[segment] ?? []))
        }

        mutating func removeRank(of comment: VideoComment, likes: Int) {
            let entry = Ranked(comment, likes: likes)
            let segment = VideoSegment.number(of: comment.offsetMs)
            guard let entries = ranked[segment] else { return }
            let index = Self.index(of: entry, in: entries)
            guard index < entries.count, entries[index] == entry else { return }
            ranked[segment]?.remove(at: index)
            if ranked[segment]?.isEmpty == true { ranked[segment] = nil }
        }

        /// The first index whose entry is not below `entry` (binary search).
        private static func index(of entry: Ranked, in entries: [Ranked]) -> Int {
            var (low, high) = (0, entries.count)
            while low < high {
                let middle = low + (high - low) / 2
                if entries[middle] < entry { low = middle + 1 } else { high = middle }
            }
            return low
        }
    }

    private struct Ranked: Comparable {
        var rank: Int64
        var id: String

        init(_ comment: VideoComment, likes: Int) {
            rank = VideoComment.rank(privileged: comment.isPrivileged, likes: likes, seq: comment.seq)
            id = comment.id
        }

        static func < (a: Ranked, b: Ranked) -> Bool { (a.rank, a.id) < (b.rank, b.id) }
    }

    private struct State {
        var byVideo: [VideoID: Pool] = [:]
        var total = 0

        /// Runs `body` on `video`'s pool in place (taken out of the dictionary meanwhile, so that
        /// changing it copies nothing), creating it when `create`; nil when it does not exist. A
        /// pool created for a `body` that throws is not kept.
        mutating func withPool<T>(_ video: VideoID, create: Bool = false, _ body: (inout Pool) throws -> T) rethrows -> T? {
            let existing = byVideo.removeValue(forKey: video)
            guard var pool = existing ?? (create ? Pool() : nil) else { return nil }
            do {
                let result = try body(&pool)
                byVideo[video] = pool
                return result
            } catch {
                byVideo[video] = existing
                throw error
            }
        }
    }

    private let state = Mutex(State())
    /// The most comments all pools together may hold.
    public let maxComments: Int
    /// Likers remembered per comment (`LikersBound`); past it, likes count without who.
    public let maxLikersPerComment: Int

    public init(maxComments: Int = 1_000_000, maxLikersPerComment: Int = LikersBound.perComment) {
        self.maxComments = maxComments
        self.maxLikersPerComment = max(1, maxLikersPerComment)
    }

    public func add(_ comments: [VideoComment], video: VideoID, limit: Int, origin: VideoCommentOrigin) async throws -> [VideoComment] {
        try state.withLock { state in
            let total = state.total
            let starts = origin != .post(startsPool: false)
            guard let added = try state.withPool(video, create: starts, { pool -> [VideoComment] in
                var seen = Set<String>()
                let new = comments.filter { pool.comments[$0.id] == nil && seen.insert($0.id).inserted }
                switch origin {
                case .post:
                    if pool.comments.count - pool.published + new.count > limit { throw VideoPoolFull(limit: limit) }
                    if total + new.count > maxComments { throw VideoPoolFull(limit: pool.comments.count) }
                case .published:
                    if pool.published + new.count > limit { throw VideoPoolFull(limit: limit) }
                    pool.published += new.count
                }
                return new.map { comment in
                    var numbered = comment
                    pool.lastSeq += 1
                    numbered.seq = pool.lastSeq
                    numbered.likes = nil
                    pool.comments[numbered.id] = numbered
                    pool.insertRank(of: numbered, likes: 0)
                    return numbered
                }
            }) else { throw VideoPoolMissing() }
            state.total += added.count
            return added
        }
    }

    public func comments(video: VideoID, segment: Int64, limit: Int) async throws -> [VideoComment] {
        state.withLock { state in
            guard let pool = state.byVideo[video], let ranked = pool.ranked[segment] else { return [] }
            return ranked.suffix(max(limit, 0)).compactMap { entry in pool.comments[entry.id].map { Self.counted($0, in: pool) } }
                .sorted { ($0.offsetMs, $0.seq) < ($1.offsetMs, $1.seq) }
        }
    }

    public func allComments(video: VideoID, limit: Int) async throws -> [VideoComment] {
        state.withLock { state in
            guard let pool = state.byVideo[video] else { return [] }
            return pool.comments.values.sorted { ($0.offsetMs, $0.seq) < ($1.offsetMs, $1.seq) }.prefix(max(limit, 0))
                .map { Self.counted($0, in: pool) }
        }
    }

    public func comment(video: VideoID, id: String) async throws -> VideoComment? {
        state.withLock { state in
            guard let pool = state.byVideo[video], let comment = pool.comments[id] else { return nil }
            return Self.counted(comment, in: pool)
        }
    }

    public func like(video: VideoID, id: String, user: String) async throws -> (count: Int, added: Bool)? {
        state.withLock { state in
            guard state.byVideo[video]?.comments[id] != nil else { return nil }
            return state.withPool(video) { pool -> (count: Int, added: Bool)? in
                guard let comment = pool.comments[id] else { return nil }
                let before = pool.likes(of: id)
                if pool.likers[id]?.contains(user) == true { return (before, false) }
                // Past the bound, the like counts without remembering who.
                if pool.likers[id, default: []].count < maxLikersPerComment {
                    pool.likers[id, default: []].insert(user)
                } else {
                    pool.likesBeyond[id, default: 0] += 1
                }
                pool.removeRank(of: comment, likes: before)
                pool.insertRank(of: comment, likes: before + 1)
                return (before + 1, true)
            } ?? nil
        }
    }

    public func remove(video: VideoID, id: String) async throws -> Bool {
        state.withLock { state in
            let removed = state.withPool(video) { pool -> Bool in
                guard let comment = pool.comments.removeValue(forKey: id) else { return false }
                pool.removeRank(of: comment, likes: pool.likes(of: id))
                pool.likers[id] = nil
                pool.likesBeyond[id] = nil
                return true
            } ?? false
            if removed { state.total -= 1 }
            return removed
        }
    }

    private static func counted(_ comment: VideoComment, in pool: Pool) -> VideoComment {
        var counted = comment
        let likes = pool.likes(of: comment.id)
        counted.likes = likes > 0 ? likes : nil
        return counted
    }
}
