import DanmakuBus
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
}
