import DanmakuBus
import DanmakuCore
import Testing

/// Reports in one process: the store contract, and the bound on how many queues it keeps.
@Suite struct MemoryReportsTests {
    @Test func eachUserReportsOnceAndTheMostReportedComeFirst() async throws {
        try await ReportStoreContract.eachUserReportsOnceAndTheMostReportedComeFirst(MemoryReports())
    }

    @Test func hiddenStaysUntilResolvedAndResolvingStartsOver() async throws {
        try await ReportStoreContract.hiddenStaysUntilResolvedAndResolvingStartsOver(MemoryReports())
    }

    @Test func reportsAndQueuesAreBounded() async throws {
        try await ReportStoreContract.reportsAndQueuesAreBounded(MemoryReports())
    }

    @Test func theQueueStartedLongestAgoIsForgottenFirst() async throws {
        let store = MemoryReports(maxQueues: 2)
        for room in ["r1", "r2", "r3"] {
            _ = try await store.file(ReportStoreContract.report(at: 1), by: "ann", of: ReportStoreContract.comment("c"), in: .room(RoomID(room)!))
        }
        #expect(try await store.entries(in: .room(RoomID("r1")!), limit: 10).isEmpty)
        #expect(try await store.entries(in: .room(RoomID("r3")!), limit: 10).count == 1)
    }
}
