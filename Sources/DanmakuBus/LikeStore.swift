// Danmaku — a live-stream bullet-comment service.

import DanmakuCore
import Synchronization

/// Who likes which comment: each user counts once per comment.
public protocol LikeStore: Sendable {
    /// Records that `user` likes comment `id` of `room`; the comment's like count after it, and
    /// whether this like was new (a user's second like of a comment changes nothing).
    func like(room: RoomID, id: String, user: String) async throws -> (count: Int, added: Bool)
}

/// The most likers of one comment (live or video) a store remembers: past it, likes go on
/// counting without remembering who, so a very popular comment's count can take a repeated like,
/// and no comment's likers grow a store without bound.
public enum LikersBound {
    public static let perComment = 100_000
}

/// Likes kept in this process (the in-memory bus's companion, like `MemoryModeration`).
///
/// Bounded: it remembers the likers of at most `maxComments` comments, forgetting the comments
/// first liked longest ago (live comments scroll past in seconds; their likes matter while they
/// are on screen), and at most `maxLikersPerComment` likers of one comment, counting on past it
/// without remembering who (a very popular comment's count can then take a repeated like).
public final class MemoryLikes: LikeStore {
    private struct Key: Hashable {
        var room: RoomID
        var id: String
    }

    private struct Likes {
        var likers: Set<String> = []
        var uncounted = 0
        var count: Int { likers.count + uncounted }
    }

    private struct State {
        var comments: [Key: Likes] = [:]
        /// Comments in the order they were first liked, for forgetting the oldest.
        var order: [Key] = []
        var orderStart = 0
    }

    private let state = Mutex(State())
    public let maxComments: Int
    public let maxLikersPerComment: Int

    public init(maxComments: Int = 100_000, maxLikersPerComment: Int = LikersBound.perComment) {
        self.maxComments = maxComments
        self.maxLikersPerComment = maxLikersPerComment
    }

    public func like(room: RoomID, id: String, user: String) async throws -> (count: Int, added: Bool) {
        state.withLock { state in
            let key = Key(room: room, id: id)
            var likes = state.comments[key] ?? {
                Self.makeRoom(&state, max: maxComments)
                state.order.append(key)
                return Likes()
            }()
            let added: Bool
            if likes.likers.contains(user) {
                added = false
            } else if likes.likers.count < maxLikersPerComment {
                likes.likers.insert(user)
                added = true
            } else {
                likes.uncounted += 1
                added = true
            }
            state.comments[key] = likes
            return (likes.count, added)
        }
    }

    /// Forgets the comments first liked longest ago until there is room for one more.
    private static func makeRoom(_ state: inout State, max: Int) {
        while state.comments.count >= max, state.orderStart < state.order.count {
            state.comments[state.order[state.orderStart]] = nil
            state.orderStart += 1
        }
        // Compact the order list once its forgotten head is as long as what is left.
        if state.orderStart > 0, state.orderStart * 2 >= state.order.count {
            state.order.removeFirst(state.orderStart)
            state.orderStart = 0
        }
    }
}
