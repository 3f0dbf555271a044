import DanmakuBus
import DanmakuCore
@testable import DanmakuRedisBus
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

    /// A queue read that finds an entry's hash gone takes the entry out of the queue, but not one
    /// a report filed since the read made again (that report was answered: it must stay).
    @Test func aReadForgetsALostEntryButNotOneReportedAgain() async throws {
        try await RedisServer.with { server in
            try await RedisBusTests().withBus(server) { bus in
                let store = RedisReports(bus: bus)
                let room = ReportStoreContract.room
                let report = CommentReport(reason: .spam, text: nil, ts: 10)
                func comment(_ id: String) -> ReportedComment { ReportedComment(id: id, seq: 1, user: CommentAuthor(id: "u", name: "U"), text: "t") }
                _ = try await store.file(report, by: "ann", of: comment("lost"), in: room)
                _ = try await store.file(report, by: "ann", of: comment("kept"), in: room)
                _ = try await server.command(["DEL", "danmaku:{reported}:reported:lost"])
                #expect(try await store.entries(in: room, limit: 10).map(\.comment.id) == ["kept"])
                #expect(try await server.command(["ZSCORE", "danmaku:{reported}:reports", "lost"]) == "$-1\r\n", "out of the queue")
                // As if "kept" had been found missing, then reported again before the clean-up ran.
                let keys = ["danmaku:{reported}:reports", "danmaku:{reported}:reports:last", "danmaku:{reported}:reports:evictable", "danmaku:{reported}:reported:kept"]
                #expect(try await server.command(["EVAL", RedisScripts.forgetLostReported, "4"] + keys + ["kept"]) == ":0\r\n")
                #expect(try await store.entries(in: room, limit: 10).map(\.comment.id) == ["kept"], "a report answered stays")
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
