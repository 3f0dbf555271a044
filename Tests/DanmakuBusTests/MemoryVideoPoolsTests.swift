import DanmakuBus
import DanmakuCore
import Testing

/// Video pools in this process: the store contract.
@Suite struct MemoryVideoPoolsTests {
    @Test func aCappedSegmentReadReturnsOnlyTheHighestRanked() async throws {
        try await VideoPoolContract.aCappedSegmentReadReturnsOnlyTheHighestRanked(MemoryVideoPools())
    }

    @Test func viewersNeitherStartPoolsNorBlockAPublish() async throws {
        try await VideoPoolContract.viewersNeitherStartPoolsNorBlockAPublish(MemoryVideoPools())
    }

    @Test func allCommentsComeInOffsetOrderAcrossSegments() async throws {
        try await VideoPoolContract.allCommentsComeInOffsetOrderAcrossSegments(MemoryVideoPools())
    }

    @Test func likesPastTheLikersBoundCountWithoutWho() async throws {
        try await VideoPoolContract.likesPastTheLikersBoundCountWithoutWho(MemoryVideoPools(maxLikersPerComment: 2))
    }

    @Test func theCapOnAllPoolsRefusesPostsButNotAPublish() async throws {
        let store = MemoryVideoPools(maxComments: 2)
        let video = VideoID("show")!
        _ = try await store.add([VideoPoolContract.comment("a", at: 1), VideoPoolContract.comment("b", at: 2)], video: video, limit: 10, origin: .post(startsPool: true))
        await #expect(throws: VideoPoolFull.self) {
            try await store.add([VideoPoolContract.comment("c", at: 3)], video: video, limit: 10, origin: .post(startsPool: false))
        }
        #expect(try await store.add([VideoPoolContract.comment("s", at: 4)], video: video, limit: 10, origin: .published).count == 1)
    }
}
