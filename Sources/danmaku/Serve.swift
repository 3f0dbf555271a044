// Danmaku — a live-stream bullet-comment service.

import DanmakuBus
import DanmakuCore
import ArgumentParser
import DanmakuArchive
import DanmakuAuth
import DanmakuIngest
import DanmakuLogic
import DanmakuServer
import Foundation
import Logging
import NIOCore
import ServiceLifecycle

/// `danmaku serve`: every role in one process on the embedded memory bus, or some roles of a
/// cluster joined by Redis.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run ingest, logic and push in one process, or some of them on a Redis bus (the default command).")

    @OptionGroup var options: ServeOptions

    func run() async throws {
        let configuration = try options.makeConfiguration()
        guard let level = Logger.Level(rawValue: options.logLevel) else {
            throw ValidationError("--log-level must be one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        // Every line logged while a request is served carries its request_id; with traces
        // exported, a line logged inside a span carries its trace_id and span_id too.
        let provided = Logger.MetadataProvider.multiplex(
            [RequestLogMetadata.provider] + (options.otelEndpoint.map { _ in [TraceExport.metadataProvider] } ?? []))
        switch options.logFormat {
        case "text": LoggingSystem.bootstrap({ StreamLogHandler.standardError(label: $0, metadataProvider: $1) }, metadataProvider: provided)
        case "json": LoggingSystem.bootstrap(JSONLogHandler.init, metadataProvider: provided)
        default: throw ValidationError("--log-format must be text or json")
        }
        var logger = Logger(label: "danmaku")
        logger.logLevel = level
        var services: [any Service] = []
        if let otelEndpoint = options.otelEndpoint {
            guard (0...1).contains(options.otelSampleRatio) else { throw ValidationError("--otel-sample-ratio must be between 0 and 1") }
            services.append(try TraceExport.start(
                endpoint: otelEndpoint, sampleRatio: options.otelSampleRatio, serviceName: "danmaku", node: configuration.push.nodeName, logger: logger))
        }
        var archive: ArchivedLog?
        if let directory = configuration.dataDirectory {
            archive = try await ArchivedLog.open(
                directory: URL(fileURLWithPath: directory), historyCapacity: configuration.logic.historyCapacity,
                retention: configuration.roomRetention, logger: logger)
        }
        let server = DanmakuServer(configuration: configuration, logger: logger, archive: archive)
        let host = configuration.host
        let service = DanmakuService(server: server) { port in
            let base = "http://\(host):\(port)"
            print("""
                Danmaku is serving on \(base) (\(configuration.roles), \(configuration.bus), batch window \(configuration.push.batchWindowMilliseconds) ms)
                  posting:        \(configuration.jwtSecret == nil ? "OPEN development mode: anyone may post, no token needed (set --jwt-secret to require tokens)" : "needs a token (Authorization: Bearer …; make one with `danmaku token`)")
                  watch a room:   ws://\(host):\(port)/v1/rooms/{room}/ws?since={seq}
                  post:           curl -X POST -H 'Content-Type: application/json' -d '{"text":"hello"}' \(base)/v1/rooms/{room}/comments
                  history:        \(base)/v1/rooms/{room}/comments?since=0
                  a video's pool: \(base)/videos/{video} (comments at offsets: \(base)/v1/videos/{video}/segments/0)
                  health:         \(base)/healthz
                  archive:        \(configuration.dataDirectory.map { "every accepted comment kept in \($0)/danmaku.sqlite; replay: \(base)/v1/rooms/{room}/replay" } ?? "none: comments live in memory (set --data-dir to keep them across restarts)")
                """)
            // Under a supervisor stdout is a pipe, and block-buffered: flush the banner now
            // (fflush(nil) flushes every stream without touching the global `stdout`).
            fflush(nil)
        }
        services.append(service)
        if let words = options.words {
            // Ignored until the reloader traps it, so a SIGHUP right after start cannot end the process.
            signal(SIGHUP, SIG_IGN)
            services.append(WordListReloader(path: words, words: server.logic.words, logger: logger))
        }
        let group = ServiceGroup(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        try await group.run()
    }
}
