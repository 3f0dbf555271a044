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

    @Test func aQueueOfHiddenEntriesRefusesNewComments() async throws {
        try await ReportStoreContract.aQueueOfHiddenEntriesRefusesNewComments(MemoryReports())
    }

    @Test func entriesExpireAMonthAfterTheirLastReport() async throws {
        try await ReportStoreContract.entriesExpireAMonthAfterTheirLastReport(MemoryReports())
    }

    @Test func tiesOrderBySmallestIdAcrossALimit() async throws {
        try await ReportStoreContract.tiesOrderBySmallestIdAcrossALimit(MemoryReports())
    }

    static func room(_ name: String) -> ReportQueue { .room(RoomID(name)!) }

    /// Past `maxQueues`, the queue reported least recently goes (not the one started first).
    @Test func theQueueReportedLeastRecentlyIsForgottenFirst() async throws {
        let store = MemoryReports(maxQueues: 2)
        _ = try await store.file(ReportStoreContract.report(at: 1), by: "ann", of: ReportStoreContract.comment("c"), in: Self.room("r1"))
        _ = try await store.file(ReportStoreContract.report(at: 2), by: "ann", of: ReportStoreContract.comment("c"), in: Self.room("r2"))
        _ = try await store.file(ReportStoreContract.report(at: 3), by: "bob", of: ReportStoreContract.comment("c"), in: Self.room("r1"))
        _ = try await store.file(ReportStoreContract.report(at: 4), by: "ann", of: ReportStoreContract.comment("c"), in: Self.room("r3"))
        #expect(try await store.entries(in: Self.room("r2"), limit: 10).isEmpty)
        #expect(try await store.entry(id: "c", in: Self.room("r1"))?.reporters == 2)
        #expect(try await store.entries(in: Self.room("r3"), limit: 10).count == 1)
    }

    /// Made-up rooms cannot push out a queue holding a hidden comment while another can go; when
    /// every queue holds one, the least recently reported goes.
    @Test func aQueueHoldingAHiddenCommentIsForgottenLast() async throws {
        let store = MemoryReports(maxQueues: 2)
        _ = try await store.file(ReportStoreContract.report(at: 1), by: "ann", of: ReportStoreContract.comment("c"), in: Self.room("real"))
        #expect(try await store.markHidden(id: "c", in: Self.room("real")))
        for index in 0..<50 {
            _ = try await store.file(ReportStoreContract.report(at: Int64(2 + index)), by: "ann", of: ReportStoreContract.comment("c"), in: Self.room("fake\(index)"))
        }
        #expect(try await store.entry(id: "c", in: Self.room("real"))?.hidden == true)
        #expect(try await store.entries(in: Self.room("fake48"), limit: 10).isEmpty)
        #expect(try await store.entries(in: Self.room("fake49"), limit: 10).count == 1)

        #expect(try await store.markHidden(id: "c", in: Self.room("fake49")))
        _ = try await store.file(ReportStoreContract.report(at: 100), by: "ann", of: ReportStoreContract.comment("c"), in: Self.room("last"))
        #expect(try await store.entries(in: Self.room("real"), limit: 10).isEmpty, "every queue held a hidden one: the least recent went")
        #expect(try await store.entry(id: "c", in: Self.room("fake49"))?.hidden == true)
    }

    /// A queue not reported for a month is forgotten as later reports come, whole.
    @Test func aQueueNotReportedForAMonthIsForgotten() async throws {
        let store = MemoryReports()
        _ = try await store.file(ReportStoreContract.report(at: 1), by: "ann", of: ReportStoreContract.comment("c"), in: Self.room("quiet"))
        _ = try await store.file(ReportStoreContract.report(at: 2 + ReportBounds.keptMilliseconds), by: "ann", of: ReportStoreContract.comment("c"), in: Self.room("busy"))
        #expect(try await store.entries(in: Self.room("quiet"), limit: 10).isEmpty)
    }
}
