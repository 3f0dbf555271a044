import DanmakuBus
import DanmakuCore
import DanmakuRedisBus
import DanmakuTestSupport
import Testing

/// Video pools in Redis: the store contract, on a real redis-server.
@Suite struct RedisVideoPoolsTests {
    @Test func aCappedSegmentReadReturnsOnlyTheHighestRanked() async throws {
        try await RedisServer.with { server in
            try await RedisBusTests().withBus(server) { bus in
                try await VideoPoolContract.aCappedSegmentReadReturnsOnlyTheHighestRanked(RedisVideoPools(bus: bus))
            }
        }
    }

    @Test func viewersNeitherStartPoolsNorBlockAPublish() async throws {
        try await RedisServer.with { server in
            try await RedisBusTests().withBus(server) { bus in
                try await VideoPoolContract.viewersNeitherStartPoolsNorBlockAPublish(RedisVideoPools(bus: bus))
            }
        }
    }

    @Test func allCommentsComeInOffsetOrderAcrossSegments() async throws {
        try await RedisServer.with { server in
            try await RedisBusTests().withBus(server) { bus in
                try await VideoPoolContract.allCommentsComeInOffsetOrderAcrossSegments(RedisVideoPools(bus: bus))
            }
        }
    }

    @Test func likesPastTheLikersBoundCountWithoutWho() async throws {
        try await RedisServer.with { server in
            try await RedisBusTests().withBus(server) { bus in
                try await VideoPoolContract.likesPastTheLikersBoundCountWithoutWho(RedisVideoPools(bus: bus, maxLikersPerComment: 2))
            }
        }
    }

    /// Live likes in Redis: past the likers remembered per comment, likes count without who.
    @Test func liveLikesPastTheLikersBoundCountWithoutWho() async throws {
        try await RedisServer.with { server in
            try await RedisBusTests().withBus(server) { bus in
                let likes = RedisLikes(bus: bus, maxLikersPerComment: 2)
                let room = RoomID("r1")!
                _ = try await likes.like(room: room, id: "a", user: "u1")
                _ = try await likes.like(room: room, id: "a", user: "u2")
                #expect(try await likes.like(room: room, id: "a", user: "u3") == (3, true))
                #expect(try await likes.like(room: room, id: "a", user: "u1") == (3, false), "remembered likers still count once")
                #expect(try await server.command(["SCARD", "danmaku:{r1}:likes:a"]).contains("2"), "two remembered")
            }
        }
    }

    /// A pool an older node stored has no rank sets: its first read ranks it, once, and its
    /// segments read as a new pool's do (they read back empty before).
    @Test func aPoolStoredBeforeSegmentsHadRankSetsIsRankedOnItsFirstRead() async throws {
        try await RedisServer.with { server in
            try await RedisBusTests().withBus(server) { bus in
                let store = RedisVideoPools(bus: bus)
                let video = VideoID("old")!
                let comments = [
                    VideoPoolContract.comment("a", at: 1000), VideoPoolContract.comment("b", at: 2000, staff: true),
                    VideoPoolContract.comment("c", at: 400_000),
                ]
                _ = try await store.add(comments, video: video, limit: 100, origin: .published)
                #expect(try await store.like(video: video, id: "a", user: "ann")?.count == 1)
                // As an older node left it: no rank sets, no mark.
                _ = try await server.command(["DEL", "danmaku:{video:old}:ranks:0", "danmaku:{video:old}:ranks:1"])
                _ = try await server.command(["HDEL", "danmaku:{video:old}:meta", "ranked"])
                #expect(try await store.comments(video: video, segment: 0, limit: 1).map(\.id) == ["b"], "the staff's first")
                #expect(try await store.comments(video: video, segment: 0, limit: 10).map(\.id) == ["a", "b"])
                #expect(try await store.comments(video: video, segment: 0, limit: 10).first?.likes == 1)
                #expect(try await store.comments(video: video, segment: 1, limit: 10).map(\.id) == ["c"])
                #expect(try await server.command(["HEXISTS", "danmaku:{video:old}:meta", "ranked"]).contains("1"))
            }
        }
    }

    /// A pool started now is ranked as it is filled: its first read ranks nothing again. An old
    /// pool larger than a ranking chunk is ranked over several short script calls.
    @Test func aNewPoolIsMarkedRankedAndAnOldLargeOneIsRankedInChunks() async throws {
        try await RedisServer.with { server in
            try await RedisBusTests().withBus(server) { bus in
                let store = RedisVideoPools(bus: bus)
                let video = VideoID("big")!
                let count = RedisVideoPools.rankingChunk * 2 + 500
                let comments = (0..<count).map { VideoPoolContract.comment("c\($0)", at: Int64($0) * 100) }
                _ = try await store.add(comments, video: video, limit: count, origin: .published)
                #expect(try await server.command(["HEXISTS", "danmaku:{video:big}:meta", "ranked"]).contains("1"), "marked when started")
                let ranksKeys = (0...VideoSegment.number(of: Int64(count) * 100)).map { "danmaku:{video:big}:ranks:\($0)" }
                _ = try await server.command(["DEL"] + ranksKeys)
                _ = try await server.command(["HDEL", "danmaku:{video:big}:meta", "ranked"])
                var read = 0
                for segment in 0...VideoSegment.number(of: Int64(count) * 100) {
                    read += try await store.comments(video: video, segment: segment, limit: count).count
                }
                #expect(read == count, "every comment is ranked again")
            }
        }
    }
}
