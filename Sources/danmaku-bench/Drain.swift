// Danmaku — a live-stream bullet-comment service.

import DanmakuBench
import NIOCore
import NIOPosix

/// The end of a load run, once its posting has stopped: waits until every viewer has its room's
/// last seq, or until `seconds` have passed, and counts the seqs the viewers still lack.
///
/// A bench that posted knows where each room ended: its publishers' highest accepted seqs. One
/// that only watches learns it from the file of the bench that posted (`lastSeqsFile`, `--procs`)
/// or, without one, from the server.
struct Drain {
    /// The server asked where rooms ended.
    var host: String
    var port: Int
    /// The run's rooms, by index.
    var roomNames: [String]
    /// Where a bench that only watches reads its rooms' last seqs (nil: from the server).
    var lastSeqsFile: String?
    /// How long viewers have to reach their room's last seq.
    var seconds: Double

    /// What the drain found.
    struct Outcome {
        /// The posts' totals, refreshed until the drain ended; `maxSeq` is where each room ended.
        var totals: PublishTotals
        /// Seqs the viewers still lacked when the drain ended.
        var tailMissing: UInt64
        /// Rooms a bench that only watches could not learn the end of (their viewers unchecked).
        var roomsWithoutLastSeq: Int
    }

    /// Waits for `viewers` to reach their rooms' last seqs; `totals` are what the publishers of
    /// `posting`, stopped, had posted.
    func run(
        posting: Publishers, stopped totals: PublishTotals, viewers: [LoadRun.ViewerRecord], group: MultiThreadedEventLoopGroup
    ) async throws -> Outcome {
        var totals = totals
        var roomsWithoutLastSeq = 0
        // A bench that only watches learns where its rooms ended from the server: others posted.
        if posting.isEmpty, !viewers.isEmpty {
            var roomLastSeqs: [Int: UInt64] = [:]
            if let lastSeqsFile {
                let told = await ViewerProcesses.lastSeqs(from: lastSeqsFile, timeout: .seconds(seconds + 60)) ?? [:]
                for (index, name) in roomNames.enumerated() { roomLastSeqs[index] = told[name] }
            } else {
                roomLastSeqs = await lastSeqs(group: group)
            }
            totals.maxSeq = roomLastSeqs
            roomsWithoutLastSeq = roomNames.count - roomLastSeqs.count
        }
        let deadline = ContinuousClock.now + .seconds(seconds)
        var behind = 0
        var tailMissing: UInt64 = 0
        repeat {
            try await Task.sleep(for: .milliseconds(200))
            // Answers still in flight when posting stopped raise the bar: refresh the totals.
            if !posting.isEmpty {
                totals = try await posting.totals()
            }
            behind = 0
            tailMissing = 0
            for record in viewers {
                let target = totals.maxSeq[record.room] ?? 0
                // A viewer that never joined is counted as failed, not as behind.
                guard let seen = try await record.handler.eventLoop.submit({ record.handler.value.lastSeq }).get() else { continue }
                if seen < target {
                    behind += 1
                    tailMissing += target - seen
                }
            }
        } while behind > 0 && ContinuousClock.now < deadline
        return Outcome(totals: totals, tailMissing: tailMissing, roomsWithoutLastSeq: roomsWithoutLastSeq)
    }

    /// Each room's latest seq as the server at `host:port` tells it (`GET /v1/rooms/{room}`),
    /// asked a few times; a room it does not tell is left out.
    private func lastSeqs(group: MultiThreadedEventLoopGroup) async -> [Int: UInt64] {
        var found: [Int: UInt64] = [:]
        for (index, name) in roomNames.enumerated() {
            for attempt in 0..<5 {
                if attempt > 0 { try? await Task.sleep(for: .seconds(1)) }
                if let body = await MetricsScrape.fetch(path: "/v1/rooms/\(name)", host: host, port: port, group: group),
                    let seq = Array(body.utf8).withUnsafeBytes({ BatchScanner.integerField("lastSeq", in: $0) }) {
                    found[index] = seq
                    break
                }
            }
            if found[index] == nil { progress("room \(name): the server at \(host):\(port) did not tell its latest seq") }
        }
        return found
    }
}
