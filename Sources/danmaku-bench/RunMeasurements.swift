// Danmaku — a live-stream bullet-comment service.

import DanmakuBench
import Histogram

/// What one load run measured, and the report made of it.
struct RunMeasurements {
    /// The run measured: its scenario and settings.
    var run: LoadRun
    /// Its rooms, by index.
    var roomNames: [String]
    /// Viewers it connected at first (churn's replacements not counted).
    var viewers: Int
    /// Its viewers' connections, read as the report is made (after the viewers stopped).
    var counters: ConnectionCounters
    /// Its slow viewers' connections, counted apart.
    var slowCounters: ConnectionCounters
    /// Viewers still on their way back after a drop once the drain was over.
    var stillAway: Int
    var connectSeconds: Double
    /// Seconds measured.
    var elapsed: Double
    var posting: Publishers
    /// Posts accepted when measuring started and when it ended, and their round trips meanwhile.
    var acceptedBefore: Int
    var acceptedAfter: Int
    var postLatency: Histogram<UInt64>
    /// What the viewers counted while measuring, and by the end of the drain.
    var measured: ViewerTotals
    var final: ViewerTotals
    /// Where the rooms ended and what the viewers still lacked then.
    var drained: Drain.Outcome
    /// Viewers replaced while measuring.
    var churned: Int
    /// Server samples taken while measuring (soak runs).
    var samples: [Report.Sample]
    /// The posting node's count of bus messages published as measuring started and as it ended.
    var busPublishedStart: Double?
    var busPublishedEnd: Double?
    /// The server's metrics once the drain was over.
    var serverMetrics: String?
    /// The server process before the viewers connected, once they had, as measuring started and
    /// as it ended, and its peak RSS meanwhile (0: never sampled).
    var serverIdle: ProcessSample?
    var serverConnected: ProcessSample?
    var serverStart: ProcessSample?
    var serverEnd: ProcessSample?
    var serverPeakRSS: Int
    /// This bench process at the same moments.
    var benchIdle: ProcessSample?
    var benchConnected: ProcessSample?
    var benchStart: ProcessSample?
    var benchEnd: ProcessSample?

    /// The run's report.
    func report() -> Report {
        let workload = run.workload
        let totals = drained.totals
        var report = Report(
            scenario: workload.name, url: "", batchWindowMs: nil, rooms: workload.rooms,
            viewersPerRoom: workload.viewersPerRoom,
            offeredCommentsPerSecond: workload.commentsPerSecond.isFinite ? workload.commentsPerSecond : nil,
            durationSeconds: elapsed, connectionsOK: counters.joined, connectionsFailed: counters.failed,
            connectionsClosedEarly: counters.closedEarly, connectSeconds: connectSeconds,
            commentsPosted: totals.sent, commentsAccepted: totals.accepted,
            commentsRejected: Dictionary(uniqueKeysWithValues: totals.rejected.map { (String($0.key), $0.value) }),
            deliveriesPerSecond: Double(measured.deliveries) / elapsed,
            framesPerSecond: Double(measured.frames) / elapsed, bytesPerSecond: Double(measured.bytes) / elapsed,
            latencyMicroseconds: Report.latency(final.latency), latencySamples: final.latency.totalCount,
            verifiedViewers: Self.multiples(of: run.verifyEvery, in: run.viewerIndexOffset..<(run.viewerIndexOffset + viewers)),
            missing: final.missing + drained.tailMissing, duplicated: final.duplicated)
        report.shed = final.shed
        report.merged = final.merged
        report.deliveries = final.deliveries
        report.latencyRecorded = final.latency.recordedValues().map { [$0.value, $0.count] }
        report.roomLastSeqs = Dictionary(uniqueKeysWithValues: totals.maxSeq.map { (roomNames[$0.key], $0.value) })
        report.roomsWithoutLastSeq = drained.roomsWithoutLastSeq
        if run.reconnect != nil {
            report.dropped = counters.dropped
            report.rejoined = counters.rejoined
            report.reconnectAttemptsFailed = counters.attemptsFailed
            report.epochRestarts = counters.restarted
            report.awayAtEnd = stillAway
            report.lastRejoinUnixMicroseconds = counters.lastRejoinMicroseconds > 0 ? counters.lastRejoinMicroseconds : nil
        }
        report.benchRSSBytesIdle = benchIdle?.rssBytes
        report.benchRSSBytesConnected = benchConnected?.rssBytes
        if !posting.isEmpty {
            report.acceptedPerSecond = Double(acceptedAfter - acceptedBefore) / elapsed
            report.postLatencyMicroseconds = Report.latency(postLatency)
        }
        if let benchStart, let benchEnd {
            report.benchCPUPercent = (benchEnd.cpuSeconds - benchStart.cpuSeconds) / elapsed * 100
            report.benchCores = ProcessSample.allowedCores()
        }
        report.samples = samples
        if let start = busPublishedStart, let end = busPublishedEnd { report.busMessagesPerSecond = (end - start) / elapsed }
        report.churnedConnections = churned
        report.slowViewers = run.slowViewers
        report.slowViewersJoined = slowCounters.joined
        report.serverSlowConsumerCloses = serverMetrics.flatMap { MetricsScrape.value("danmaku_slow_consumer_closes_total", in: $0) }.map { Int($0) }
        report.serverRSSPeakBytes = serverPeakRSS > 0 ? serverPeakRSS : nil
        report.publisherConnections = posting.count
        report.inFlightPerPublisher = run.inFlightPerPublisher
        if let serverStart, let serverEnd {
            report.serverCPUPercent = (serverEnd.cpuSeconds - serverStart.cpuSeconds) / elapsed * 100
            if let accepted = report.acceptedPerSecond, accepted > 0 {
                report.serverMicrosecondsPerPost = (serverEnd.cpuSeconds - serverStart.cpuSeconds) / elapsed / accepted * 1e6
            }
            report.serverRSSBytes = serverEnd.rssBytes
            report.serverOpenFiles = serverEnd.openFiles
        }
        if let serverIdle, let serverConnected, counters.joined > 0 {
            report.serverRSSBytesIdleBefore = serverIdle.rssBytes
            report.serverRSSPerConnectionBytes = Double(serverConnected.rssBytes - serverIdle.rssBytes) / Double(counters.joined)
        }
        return report
    }

    /// How many numbers in `range` (from 0 up) are multiples of `step`: the viewers that check
    /// every comment (one in `step`, by index).
    static func multiples(of step: Int, in range: Range<Int>) -> Int {
        func below(_ bound: Int) -> Int { bound <= 0 ? 0 : (bound - 1) / step + 1 }
        return below(range.upperBound) - below(range.lowerBound)
    }
}
