import DanmakuBus
import Testing

/// Video pools in this process: the store contract.
@Suite struct MemoryVideoPoolsTests {
    @Test func aCappedSegmentReadReturnsOnlyTheHighestRanked() async throws {
        try await VideoPoolContract.aCappedSegmentReadReturnsOnlyTheHighestRanked(MemoryVideoPools())
    }
}
