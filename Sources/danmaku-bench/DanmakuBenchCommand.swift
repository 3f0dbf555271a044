// Danmaku — a live-stream bullet-comment service.

import ArgumentParser
import DanmakuBench
import Foundation
import Histogram
import NIOCore
import NIOPosix

/// `danmaku-bench`: load a Danmaku deployment with real sockets and check it loses nothing.
@main
struct DanmakuBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "danmaku-bench",
        abstract: "Connect viewers, post comments, measure deliveries/s and latency, check every seq.",
        discussion: "Scenarios: \(Scenario.named.keys.sorted().joined(separator: ", ")). Without --url a local 'danmaku serve' is started.")

    @Option(help: "Server to load, e.g. http://127.0.0.1:7000 (default: start a local danmaku serve).")
    var url: String?

    @Option(help: "Push node for viewers (repeatable; viewers are spread round robin); posts still go to --url.")
    var viewerUrl: [String] = []

    @Option(help: "Push node that takes only viewers coming back after a drop (repeatable; with --reconnect).")
    var reconnectUrl: [String] = []

    @Flag(help: "Viewers whose socket closes come back to another push node (--viewer-url, --reconnect-url) with since and epoch, after a jittered backoff; drops and comebacks are counted.")
    var reconnect = false

    @Option(name: .customLong("reconnect-delay-ms"), help: "A returning viewer's first wait, doubling per failed attempt to 8 s, each 0.5-1.5 times that at random.")
    var reconnectDelayMilliseconds = 250

    @Flag(help: "Measure until the process gets SIGUSR1 instead of for --duration (a script ends several benches together).")
    var untilSignal = false

    @Option(help: "Seconds to wait, after measuring, for every viewer to reach its room's last seq (a bench that posts nothing asks the server, at --url, for it).")
    var drainSeconds = 10.0

    @Option(help: "Named workload whose rooms, viewers and rate are the defaults.")
    var scenario = "one-room"

    @Option(help: "Rooms (overrides the scenario).")
    var rooms: Int?

    @Option(help: "Viewers per room (overrides the scenario).")
    var viewers: Int?

    @Option(help: "Comments per second in total (overrides the scenario).")
    var rate: Double?

    @Option(help: "Seconds of measurement.")
    var duration = 10.0

    @Option(help: "Seconds of posting before measurement starts.")
    var warmup = 2.0

    @Option(help: "New connections per second.")
    var connectRate = 5000.0

    @Option(help: "Source addresses for viewer connections, e.g. 127.0.0.1-127.0.0.16.")
    var sourceIps = "127.0.0.1"

    @Option(help: "PID of the server, to sample its RSS and CPU (automatic for a local server).")
    var serverPid: Int32?

    @Option(help: "Write the report as JSON to this file.")
    var json: String?

    @Option(help: "Client EventLoop threads (0 = one per available core).")
    var threads = 0

    @Option(help: "Publisher connections (default: one per 100 comments/s, as many posters would open; 16 for the posts scenario).")
    var publishers: Int?

    @Option(help: "Posts each publisher connection keeps waiting for an answer, at most, 1...256 (default: 256; 16 for the posts scenario, a server's pipelining bound).")
    var inFlight: Int?

    @Option(help: "Bytes of text per comment.")
    var textBytes = 40

    @Option(help: "Share of comments that repeat the same text (\"666\"), 0...1, for merged repeats (the server needs --duplicate-window 0: the posters share one address).")
    var repeatShare = 0.0

    @Option(help: "Rooms are named PREFIX-0, PREFIX-1, …: several bench processes load different rooms.")
    var roomPrefix = "bench"

    @Option(help: "Viewers replaced per second while measuring: the oldest leave, new ones join (soak).")
    var churn = 0

    @Option(help: "Seconds between recorded server samples of RSS and open files.")
    var sampleEvery = 60

    @Option(help: "Extra viewers that stop reading after the handshake (slow consumers).")
    var slowViewers = 0

    @Flag(help: "Viewers negotiate permessage-deflate (and inflate every frame).")
    var compression = false

    @Option(help: "Check every comment (and its latency) on one viewer in N; the others check batch boundaries.")
    var verifyEvery = 10

    @Option(name: .customLong("batch-window-ms"), help: "Batch window of the local server (0 = naive mode).")
    var batchWindowMilliseconds = 10

    @Option(help: "Pin the local server to these CPUs (taskset -c), e.g. 0.")
    var serverCpus: String?

    @Option(help: "Extra argument for the local server (repeatable), e.g. --server-arg=--threads=1.")
    var serverArg: [String] = []

    @Option(help: "Wire format viewers ask for: 2 leaves out what every comment repeats, 1 is the full comment.")
    var wireFormat = 2

    @Option(help: "Bench processes for the viewers, 1...64: this one posts and holds a share; the others (this executable again) hold the rest and their reports are added to this one's. One process holds at most ~19,900 sockets.")
    var procs = 1

    @Flag(help: .hidden)
    var startOnSignal = false

    @Option(help: .hidden)
    var viewerIndexOffset = 0

    @Option(help: .hidden)
    var lastSeqsFrom: String?

    @Option(help: "The kind of server at --url: danmaku, or nchan (an Nginx configured as Benchmarks/nchan/nginx.conf, loaded by the same viewers and posters).")
    var target = "danmaku"

    @Option(help: "The danmaku binary to start as the local server (default: the one next to danmaku-bench).")
    var serverBinary: String?

    func run() async throws {
        guard var workload = Scenario.named[scenario] else {
            throw ValidationError("unknown scenario '\(scenario)'; known: \(Scenario.named.keys.sorted().joined(separator: ", "))")
        }
        if let rooms { workload.rooms = rooms }
        if let viewers { workload.viewersPerRoom = viewers }
        if let rate {
            guard rate >= 0 else { throw ValidationError("--rate must be 0 or more (inf: as fast as the server answers)") }
            workload.commentsPerSecond = rate
        }
        let inFlight = inFlight ?? (workload.commentsPerSecond.isFinite ? 256 : 16)
        guard (1...256).contains(inFlight) else { throw ValidationError("--in-flight must be between 1 and 256") }
        if let publishers, !(1...10_000).contains(publishers) { throw ValidationError("--publishers must be between 1 and 10000") }
        guard let sources = parseSourceAddresses(sourceIps) else { throw ValidationError("bad --source-ips") }
        guard connectRate > 0, connectRate <= 1e7 else { throw ValidationError("--connect-rate must be more than 0 and at most 10000000") }
        guard (0...86_400).contains(drainSeconds) else { throw ValidationError("--drain-seconds must be between 0 and 86400") }
        guard (1...60_000).contains(reconnectDelayMilliseconds) else { throw ValidationError("--reconnect-delay-ms must be between 1 and 60000") }
        guard (1...2).contains(wireFormat) else { throw ValidationError("--wire-format must be 1 or 2") }
        guard let kind = BenchTarget(rawValue: target) else { throw ValidationError("--target must be danmaku or nchan") }
        if kind == .nchan {
            guard url != nil else { throw ValidationError("--target nchan needs --url (the Nginx to load)") }
            guard !reconnect, !compression, repeatShare == 0 else {
                throw ValidationError("--target nchan runs without --reconnect, --compression and --repeat-share")
            }
        }
        guard !roomPrefix.isEmpty, roomPrefix.count <= 40, roomPrefix.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) else {
            throw ValidationError("--room-prefix: up to 40 letters, digits, - and _")
        }
        guard (0...1).contains(repeatShare) else { throw ValidationError("--repeat-share must be between 0 and 1") }
        guard (1...64).contains(procs) else { throw ValidationError("--procs must be between 1 and 64") }
        if startOnSignal, !untilSignal { throw ValidationError("--start-on-signal needs --until-signal") }
        guard (0...100_000_000).contains(viewerIndexOffset) else { throw ValidationError("--viewer-index-offset must be between 0 and 100000000") }
        guard workload.rooms.multipliedReportingOverflow(by: workload.viewersPerRoom).partialValue <= 10_000_000,
            !workload.rooms.multipliedReportingOverflow(by: workload.viewersPerRoom).overflow
        else { throw ValidationError("--rooms × --viewers must be at most 10000000") }
        if procs > 1 {
            guard kind == .danmaku, !untilSignal, churn == 0, slowViewers == 0 else {
                throw ValidationError("--procs runs against danmaku, without --until-signal, --churn and --slow-viewers")
            }
        }
        // Taken over before anything connects: SIGUSR1's default action would end the process,
        // and a signal that came before its listener would be lost.
        let finish = untilSignal ? FinishSignal() : nil
        let watcher = Task { await finish?.watch() }
        defer { watcher.cancel() }
        // A process run by another's `--procs` ends when that one does, whatever ended it.
        if startOnSignal { ViewerProcesses.endWithParent() }

        var local: LocalServer?
        let host: String
        let port: Int
        if let url {
            guard let parsed = URL(string: url), let urlHost = parsed.host, let urlPort = parsed.port else {
                throw ValidationError("--url must look like http://HOST:PORT")
            }
            host = urlHost
            port = urlPort
        } else {
            local = try LocalServer(binary: serverBinary, batchWindowMilliseconds: batchWindowMilliseconds, cpus: serverCpus, extraArguments: serverArg)
            host = "127.0.0.1"
            port = local!.port
        }
        defer { local?.stop() }
        let pid = serverPid ?? local?.pid

        // Other processes for a share of the viewers, connected before this one's join and post.
        var others: ViewerProcesses?
        defer { others?.stop() }
        if procs > 1 {
            let perRoom = workload.viewersPerRoom
            let rooms = workload.rooms
            let serverURL = "http://\(host):\(port)"
            others = try ViewerProcesses(count: procs, viewersPerRoom: perRoom) { share, before, report, lastSeqs in
                // Viewers are numbered across rooms: the processes before this one hold `before` of each room's.
                var arguments = [
                    "--url", serverURL, "--scenario", scenario, "--rooms", String(rooms), "--viewers", String(share),
                    "--rate", "0", "--until-signal", "--start-on-signal", "--viewer-index-offset", String(before * rooms),
                    "--last-seqs-from", lastSeqs,
                    "--json", report, "--drain-seconds", String(drainSeconds), "--connect-rate", String(connectRate / Double(procs)),
                    "--source-ips", sourceIps, "--threads", String(threads), "--verify-every", String(verifyEvery),
                    "--wire-format", String(wireFormat), "--room-prefix", roomPrefix,
                    "--reconnect-delay-ms", String(reconnectDelayMilliseconds),
                ]
                arguments += viewerUrl.flatMap { ["--viewer-url", $0] } + reconnectUrl.flatMap { ["--reconnect-url", $0] }
                if reconnect { arguments.append("--reconnect") }
                if compression { arguments.append("--compression") }
                return arguments
            }
            try await others?.waitUntilConnected(timeout: .seconds(90 + 2 * Double(rooms * perRoom) / connectRate))
            workload.viewersPerRoom = ViewerProcesses.share(of: perRoom, process: 0, of: procs)
        }

        var run = LoadRun(
            host: host, port: port, workload: workload, sources: sources,
            threads: threads > 0 ? threads : ProcessSample.allowedCores(), verifyEvery: max(1, verifyEvery),
            textBytes: textBytes, compression: compression, connectRate: connectRate,
            publishers: publishers ?? (workload.commentsPerSecond.isFinite ? max(1, Int(clamping: Int64(min((workload.commentsPerSecond / 100).rounded(.up), 10_000)))) : 16))
        run.inFlightPerPublisher = inFlight
        run.repeatShare = repeatShare
        func endpoint(_ text: String) throws -> ViewerEndpoint {
            guard let parsed = URL(string: text), let host = parsed.host, let port = parsed.port else {
                throw ValidationError("--viewer-url and --reconnect-url must look like http://HOST:PORT")
            }
            return ViewerEndpoint(host: host, port: port)
        }
        run.viewerEndpoints = viewerUrl.isEmpty ? [ViewerEndpoint(host: host, port: port)] : try viewerUrl.map(endpoint)
        run.spreadOver = run.viewerEndpoints.count
        run.viewerEndpoints += try reconnectUrl.map(endpoint)
        run.reconnect = reconnect ? .milliseconds(Int64(clamping: reconnectDelayMilliseconds)) : nil
        run.finish = finish
        run.startsOnSignal = startOnSignal
        run.viewerIndexOffset = viewerIndexOffset
        if let others {
            run.onMeasureStart = { others.signal() }
            run.onMeasureEnd = { others.signal() }
            run.onDrained = { others.tellLastSeqs($0) }
        }
        run.lastSeqsFile = lastSeqsFrom
        run.drainSeconds = drainSeconds
        run.wireFormat = wireFormat
        run.target = kind
        run.roomPrefix = roomPrefix
        run.slowViewers = slowViewers
        run.churnPerSecond = churn
        run.sampleEvery = max(1, sampleEvery)
        var report = try await run.execute(warmup: warmup, duration: duration, serverPID: pid)
        try await others?.addReports(to: &report, timeout: .seconds(2 * drainSeconds + 90))
        report.url = url ?? "local danmaku serve on :\(port)\(serverCpus.map { " (taskset -c \($0))" } ?? "")"
        report.batchWindowMs = url == nil ? batchWindowMilliseconds : nil
        report.compression = compression
        report.printTable()
        if let json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(report).write(to: URL(fileURLWithPath: json))
        }
        if !report.passed { throw ExitCode(1) }
    }
}
