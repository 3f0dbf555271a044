import DanmakuArchive
import DanmakuBus
import DanmakuCore
import Foundation
import Logging
import Testing

/// Reports on disk (`--data-dir`): the store contract, and what a restart must not forget.
@Suite struct ArchivedReportsTests {
    func withArchive(_ body: (ArchivedLog, URL) async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("danmaku-reports-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let archive = try await ArchivedLog.open(directory: directory, historyCapacity: 10, logger: Logger(label: "test"))
        do {
            try await body(archive, directory)
        } catch {
            await archive.close()
            throw error
        }
        await archive.close()
    }

    @Test func eachUserReportsOnceAndTheMostReportedComeFirst() async throws {
        try await withArchive { archive, _ in try await ReportStoreContract.eachUserReportsOnceAndTheMostReportedComeFirst(archive.reports) }
    }

    @Test func hiddenStaysUntilResolvedAndResolvingStartsOver() async throws {
        try await withArchive { archive, _ in try await ReportStoreContract.hiddenStaysUntilResolvedAndResolvingStartsOver(archive.reports) }
    }

    @Test func reportsAndQueuesAreBounded() async throws {
        try await withArchive { archive, _ in try await ReportStoreContract.reportsAndQueuesAreBounded(archive.reports) }
    }

    @Test func aQueueOfHiddenEntriesRefusesNewComments() async throws {
        try await withArchive { archive, _ in try await ReportStoreContract.aQueueOfHiddenEntriesRefusesNewComments(archive.reports) }
    }

    @Test func entriesExpireAMonthAfterTheirLastReport() async throws {
        try await withArchive { archive, _ in try await ReportStoreContract.entriesExpireAMonthAfterTheirLastReport(archive.reports) }
    }

    @Test func tiesOrderBySmallestIdAcrossALimit() async throws {
        try await withArchive { archive, _ in try await ReportStoreContract.tiesOrderBySmallestIdAcrossALimit(archive.reports) }
    }

    @Test func aRestartKeepsTheQueueAndWhoReported() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("danmaku-reports-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let room = ReportStoreContract.room
        let first = try await ArchivedLog.open(directory: directory, historyCapacity: 10, logger: Logger(label: "test"))
        _ = try await first.reports.file(ReportStoreContract.report(at: 1), by: "ann", of: ReportStoreContract.comment("a"), in: room)
        #expect(try await first.reports.markHidden(id: "a", in: room))
        await first.close()

        let second = try await ArchivedLog.open(directory: directory, historyCapacity: 10, logger: Logger(label: "test"))
        #expect(try await second.reports.file(ReportStoreContract.report(at: 2), by: "ann", of: ReportStoreContract.comment("a"), in: room) == .alreadyReported)
        #expect(try await second.reports.entry(id: "a", in: room)?.hidden == true)
        await second.close()
    }
}
