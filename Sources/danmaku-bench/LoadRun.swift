// Danmaku — a live-stream bullet-comment service.

import DanmakuBench
import Foundation
import NIOCore
import NIOPosix

/// One load run: connect viewers, post at the rate, measure, then drain (`Drain`) and report
/// (`RunMeasurements`).
struct LoadRun {
    var host: String
    var port: Int
    var workload: Scenario
    var sources: [String]
    var threads: Int
    var verifyEvery: Int
    var textBytes: Int
    /// Share of posts that repeat the same text ("666"), 0...1.
    var repeatShare = 0.0
    var compression: Bool
    /// The wire format viewers ask for (`?v=`).
    var wireFormat = 2
    /// The kind of server loaded.
    var target = BenchTarget.danmaku
    /// Rooms are `roomPrefix-N`.
    var roomPrefix = "bench"
    var connectRate: Double
    var publishers: Int
    /// Posts each publisher connection keeps waiting for an answer, at most.
    var inFlightPerPublisher = 256
    /// Viewers that stop reading after the handshake, spread over the rooms.
    var slowViewers = 0
    /// Viewers replaced per second while measuring (soak).
    var churnPerSecond = 0
    /// Seconds between recorded server samples (RSS, open files).
    var sampleEvery = 60
    /// Push nodes for the viewers (`host:port` when the command names none): the first
    /// `spreadOver` take new viewers round robin, the rest only viewers coming back after a drop.
    /// One list for every viewer: a viewer's reconnection refers to it, not to a copy.
    var viewerEndpoints: [ViewerEndpoint] = []
    var spreadOver = 1
    /// Viewers come back after their socket closes, the first attempt after about this long
    /// (nil: a close ends the viewer).
    var reconnect: TimeAmount?
    /// Measure until this is raised instead of for the duration.
    var finish: FinishSignal?
    /// With `finish`: warm up until its first signal, and measure until its second (a bench run
    /// by another's `--procs`, whose timeline it follows).
    var startsOnSignal = false
    /// Added to each viewer's index (its source address, whether it checks every comment): the
    /// viewers of several processes are numbered as one crowd.
    var viewerIndexOffset = 0
    /// Called as measurement starts and as it ends (to start and end other processes' with it).
    var onMeasureStart: @Sendable () -> Void = {}
    var onMeasureEnd: @Sendable () -> Void = {}
    /// Called once the drain is over with where each room ended (room name → last seq).
    var onDrained: @Sendable ([String: UInt64]) -> Void = { _ in }
    /// A bench that posts nothing learns where its rooms ended from this file (written by the
    /// bench that posted, `--procs`) rather than from the server.
    var lastSeqsFile: String?
    /// Seconds the drain waits for every viewer to reach its room's last seq.
    var drainSeconds = 10.0

    /// Where viewer `index` connects.
    func viewerEndpoint(_ index: Int) -> ViewerEndpoint {
        viewerEndpoints.isEmpty ? ViewerEndpoint(host: host, port: port) : viewerEndpoints[index % max(1, min(spreadOver, viewerEndpoints.count))]
    }

    /// The posting node's count of bus messages published (Redis mode only).
    private func busMessagesPublished(group: MultiThreadedEventLoopGroup) async -> Double? {
        await MetricsScrape.fetch(host: host, port: port, group: group).flatMap {
            MetricsScrape.value("danmaku_bus_messages_published_total", in: $0)
        }
    }

    /// A viewer's handler and room, kept on its loop.
    struct ViewerRecord {
        var room: Int
        var handler: NIOLoopBoundBox<BenchViewer>
    }

    func execute(warmup: Double, duration: Double, serverPID: Int32?) async throws -> Report {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        // Publishers on a thread of their own: a post's round trip is then not the time the
        // viewers' loop takes to come round to its answer.
        let publishing = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        do {
            let report = try await execute(group: group, publishing: publishing, warmup: warmup, duration: duration, serverPID: serverPID)
            try? await publishing.shutdownGracefully()
            try? await group.shutdownGracefully()
            return report
        } catch {
            try? await publishing.shutdownGracefully()
            try? await group.shutdownGracefully()
            throw error
        }
    }

    private func execute(
        group: MultiThreadedEventLoopGroup, publishing: MultiThreadedEventLoopGroup, warmup: Double, duration: Double, serverPID: Int32?
    ) async throws -> Report {
        let stats = try await ViewerStats(group: group)
        let statsForLoop = stats.forLoop
        let counters = ConnectionCounters()
        let roomNames = (0..<workload.rooms).map { "\(roomPrefix)-\($0)" }
        let idle = serverPID.flatMap(ProcessSample.take)
        let benchIdle = ProcessSample.take(pid: getpid())

        // Viewers, paced by the connect rate, spread over the source addresses.
        let total = workload.rooms * workload.viewersPerRoom
        let connectStart = ContinuousClock.now
        var pending: [EventLoopFuture<ViewerRecord>] = []
        let perTick = max(1, Int(connectRate / 100))
        for index in 0..<total {
            if index > 0, index % perTick == 0 {
                // By schedule, so that a rate under 100/s (several benches sharing one) holds too.
                try await Task.sleep(until: connectStart + .seconds(Double(index) / connectRate), clock: .continuous)
                if index % (perTick * 100) == 0 {
                    progress("connecting: \(counters.joined)/\(total) joined, \(counters.failed) failed")
                }
            }
            let connected = try connectViewer(
                index: index + viewerIndexOffset, room: index % workload.rooms, roomNames: roomNames, group: group, counters: counters,
                statsForLoop: statsForLoop)
            connected.whenFailure { _ in counters.didFail() }
            pending.append(connected)
        }
        // Slow consumers join after the healthy viewers; they are counted apart.
        let slowCounters = ConnectionCounters()
        var slowChannels: [EventLoopFuture<any Channel>] = []
        for index in 0..<slowViewers {
            if index > 0, index % perTick == 0 { try await Task.sleep(for: .milliseconds(10)) }
            let loop = group.next()
            let handler = NIOLoopBoundBox.makeBoxSendingValue(
                SlowViewer(path: target.viewerPath(room: roomNames[index % workload.rooms], wireFormat: wireFormat), counters: slowCounters), eventLoop: loop)
            let connected = ClientBootstrap(group: loop)
                .bind(to: try SocketAddress(ipAddress: sources[(index + total) % sources.count], port: 0))
                .channelOption(.socketOption(.so_rcvbuf), value: 4096)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(handler.value) }
                }
                .connect(host: viewerEndpoint(index).host, port: viewerEndpoint(index).port)
            connected.whenFailure { _ in slowCounters.didFail() }
            slowChannels.append(connected)
        }
        let connectDeadline = ContinuousClock.now + .seconds(60)
        while counters.joined + counters.failed < total || slowCounters.joined + slowCounters.failed < slowViewers,
            ContinuousClock.now < connectDeadline {
            try await Task.sleep(for: .milliseconds(100))
        }
        let connectSeconds = seconds(ContinuousClock.now - connectStart)
        progress("connected: \(counters.joined)/\(total) joined, \(counters.failed) failed in \(String(format: "%.1f", connectSeconds)) s")
        var viewers: [ViewerRecord] = []
        for future in pending { if let record = try? await future.get() { viewers.append(record) } }
        let connected = serverPID.flatMap(ProcessSample.take)
        let benchConnected = ProcessSample.take(pid: getpid())

        // Publishers.
        var posting = Publishers()
        if workload.commentsPerSecond > 0 {
            posting = try await Publishers.connect(
                publishers, group: publishing, host: host, port: port, rooms: roomNames, commentsPerSecond: workload.commentsPerSecond,
                textBytes: textBytes, repeatShare: repeatShare, maxInFlight: inFlightPerPublisher, target: target)
        }

        // Warm-up, then measure.
        let finish = self.finish
        let startsOnSignal = self.startsOnSignal
        if let finish, startsOnSignal {
            try await stats.tick(seconds: .infinity, label: "warm-up", counters: counters, until: { finish.count >= 1 })
        } else {
            try await stats.tick(seconds: warmup, label: "warm-up", counters: counters)
        }
        _ = try await stats.collect(reset: true)
        onMeasureStart()
        let acceptedBefore = try await posting.resetLatency()
        let benchStart = ProcessSample.take(pid: getpid())
        let measureStart = ContinuousClock.now
        let busPublishedStart = await busMessagesPublished(group: group)
        let cpuStart = serverPID.flatMap(ProcessSample.take)
        var peakRSS = cpuStart?.rssBytes ?? 0
        var samples: [Report.Sample] = []
        var churnIndex = total
        var second = 0
        let measuredUntil = finish.map { finish in { @Sendable in finish.count >= (startsOnSignal ? 2 : 1) } }
        try await stats.tick(seconds: finish == nil ? duration : .infinity, label: "measuring", counters: counters, until: measuredUntil) {
            second += 1
            if let sample = serverPID.flatMap(ProcessSample.take) {
                peakRSS = max(peakRSS, sample.rssBytes)
                if second % sampleEvery == 0 {
                    samples.append(.init(second: second, rssBytes: sample.rssBytes, openFiles: sample.openFiles))
                    progress("sample: t=\(second)s rss=\(sample.rssBytes / 1024) KiB fds=\(sample.openFiles)")
                }
            }
            if churnPerSecond > 0 {
                try await churn(
                    churnPerSecond, viewers: &viewers, nextIndex: &churnIndex, roomNames: roomNames, group: group,
                    counters: counters, statsForLoop: statsForLoop)
            }
        }
        let totalsMeasured = try await stats.collect(reset: false)
        let elapsed = seconds(ContinuousClock.now - measureStart)
        onMeasureEnd()
        let busPublishedEnd = await busMessagesPublished(group: group)
        let cpuEnd = serverPID.flatMap(ProcessSample.take)
        let benchEnd = ProcessSample.take(pid: getpid())
        let measuredPosts = try await posting.totals()
        let acceptedAfter = measuredPosts.accepted
        let postLatency = measuredPosts.postLatency

        // Stop posting, then wait until every viewer has its room's last accepted seq.
        let stopped = try await posting.stop()
        let drain = Drain(host: host, port: port, roomNames: roomNames, lastSeqsFile: lastSeqsFile, seconds: drainSeconds)
        let drained = try await drain.run(posting: posting, stopped: stopped, viewers: viewers, group: group)
        let final = try await stats.collect(reset: false)
        onDrained(Dictionary(uniqueKeysWithValues: drained.totals.maxSeq.map { (roomNames[$0.key], $0.value) }))

        let serverMetrics = await MetricsScrape.fetch(host: host, port: port, group: group)
        let stillAway = counters.reconnecting
        for record in viewers {
            try? await record.handler.eventLoop.submit { record.handler.value.stop() }.get()
        }
        for future in slowChannels { (try? await future.get())?.close(promise: nil) }

        return RunMeasurements(
            run: self, roomNames: roomNames, viewers: total, counters: counters, slowCounters: slowCounters, stillAway: stillAway,
            connectSeconds: connectSeconds, elapsed: elapsed, posting: posting, acceptedBefore: acceptedBefore,
            acceptedAfter: acceptedAfter, postLatency: postLatency, measured: totalsMeasured, final: final, drained: drained,
            churned: churnIndex - total, samples: samples, busPublishedStart: busPublishedStart, busPublishedEnd: busPublishedEnd,
            serverMetrics: serverMetrics, serverIdle: idle, serverConnected: connected, serverStart: cpuStart, serverEnd: cpuEnd,
            serverPeakRSS: peakRSS, benchIdle: benchIdle, benchConnected: benchConnected, benchStart: benchStart, benchEnd: benchEnd
        ).report()
    }
}

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

func format(_ value: Double) -> String {
    value >= 1e6 ? String(format: "%.2fM", value / 1e6) : String(format: "%.0f", value)
}

/// One progress line on stderr.
func progress(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))

}
