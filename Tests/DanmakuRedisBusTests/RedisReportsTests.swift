import DanmakuBus
import DanmakuCore
import DanmakuRedisBus
import DanmakuTestSupport
import Testing

/// Reports in Redis: the store contract, on a real redis-server.
@Suite struct RedisReportsTests {
    @Test func eachUserReportsOnceAndTheMostReportedComeFirst() async throws {
        try await RedisServer.with { server in
            try await RedisBusTests().withBus(server) { bus in
                try await ReportStoreContract.eachUserReportsOnceAndTheMostReportedComeFirst(RedisReports(bus: bus))
            }
        }
    }

    @Test func hiddenStaysUntilResolvedAndResolvingStartsOver() async throws {
        try await RedisServer.with { server in
            try await RedisBusTests().withBus(server) { bus in
                try await ReportStoreContract.hiddenStaysUntilResolvedAndResolvingStartsOver(RedisReports(bus: bus))
            }
        }
    }

    @Test func reportsAndQueuesAreBounded() async throws {
        try await RedisServer.with { server in
            try await RedisBusTests().withBus(server) { bus in
                try await ReportStoreContract.reportsAndQueuesAreBounded(RedisReports(bus: bus))
            }
        }
    }

    @Test func aQueueOfHiddenEntriesRefusesNewComments() async throws {
        try await RedisServer.with { server in
            try await RedisBusTests().withBus(server) { bus in
                try await ReportStoreContract.aQueueOfHiddenEntriesRefusesNewComments(RedisReports(bus: bus))
            }
        }
    }

    @Test func entriesExpireAMonthAfterTheirLastReport() async throws {
        try await RedisServer.with { server in
            try await RedisBusTests().withBus(server) { bus in
                try await ReportStoreContract.entriesExpireAMonthAfterTheirLastReport(RedisReports(bus: bus))
            }
        }
    }

    @Test func tiesOrderBySmallestIdAcrossALimit() async throws {
        try await RedisServer.with { server in
            try await RedisBusTests().withBus(server) { bus in
                try await ReportStoreContract.tiesOrderBySmallestIdAcrossALimit(RedisReports(bus: bus))
            }
        }
    }
}
