import DanmakuBus
import DanmakuCore
import Testing

/// The in-process like store: once per user, and bounded.
@Suite struct MemoryLikesTests {
    let room = RoomID("r1")!

    @Test func eachUserCountsOncePerComment() async throws {
        let likes = MemoryLikes()
        #expect(try await likes.like(room: room, id: "a", user: "ann") == (1, true))
        #expect(try await likes.like(room: room, id: "a", user: "ann") == (1, false))
        #expect(try await likes.like(room: room, id: "a", user: "bob") == (2, true))
        #expect(try await likes.like(room: room, id: "b", user: "ann") == (1, true), "another comment")
        #expect(try await likes.like(room: RoomID("r2")!, id: "a", user: "ann") == (1, true), "the same id in another room")
    }

    @Test func theCommentsLikedLongestAgoAreForgottenFirst() async throws {
        let likes = MemoryLikes(maxComments: 3)
        for id in ["a", "b", "c"] { _ = try await likes.like(room: room, id: id, user: "ann") }
        _ = try await likes.like(room: room, id: "d", user: "ann")
        // "a" was forgotten to make room for "d": ann's like of it counts anew.
        #expect(try await likes.like(room: room, id: "a", user: "ann") == (1, true))
        #expect(try await likes.like(room: room, id: "c", user: "ann") == (1, false), "c is still remembered")
    }

    @Test func pastTheLikerCapACommentCountsOnWithoutRememberingWho() async throws {
        let likes = MemoryLikes(maxLikersPerComment: 2)
        _ = try await likes.like(room: room, id: "a", user: "u1")
        _ = try await likes.like(room: room, id: "a", user: "u2")
        #expect(try await likes.like(room: room, id: "a", user: "u3") == (3, true))
        #expect(try await likes.like(room: room, id: "a", user: "u1") == (3, false), "remembered likers still count once")
    }
}
