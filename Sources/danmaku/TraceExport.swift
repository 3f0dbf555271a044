// Danmaku — a live-stream bullet-comment service.

import ArgumentParser
import Foundation
import Logging
import OTel
import ServiceLifecycle
import Tracing

/// `--otel-endpoint`: spans of a comment's path (`danmaku.post` with its checks, store and
/// publish, and in the same process `danmaku.push`, from its arrival on a push loop to its batch's
/// first writes) exported over OTLP/HTTP by swift-otel's batch processor. Without the flag the
/// tracer stays the no-op one, and the spans cost next to nothing.
enum TraceExport {
    /// Adds `trace_id` and `span_id` to log lines written inside a span.
    static let metadataProvider = OTel.makeLoggingMetadataProvider()

    /// Installs the OTLP tracer; the returned service runs the exporter (and flushes it when the
    /// service group stops).
    static func start(endpoint: String, sampleRatio: Double, serviceName: String, node: String, logger: Logger) throws -> any Service {
        guard let url = URL(string: endpoint), ["http", "https"].contains(url.scheme ?? ""), url.host != nil else {
            throw ValidationError("--otel-endpoint must be an http:// or https:// URL")
        }
        var configuration = OTel.Configuration.default
        configuration.serviceName = serviceName
        configuration.resourceAttributes = ["service.instance.id": node]
        configuration.metrics.enabled = false
        configuration.logs.enabled = false
        configuration.traces.enabled = true
        configuration.traces.exporter = .otlp
        configuration.traces.otlpExporter.protocol = .httpProtobuf
        configuration.traces.otlpExporter.endpoint = url.path.isEmpty || url.path == "/"
            ? endpoint.trimmingCharacters(in: CharacterSet(charactersIn: "/")) + "/v1/traces" : endpoint
        configuration.traces.sampler = .parentBasedTraceIDRatio(ratio: sampleRatio) ?? .parentBasedAlwaysOn
        configuration.diagnosticLogger = .custom(logger)
        let (tracer, service) = try OTel.makeTracingBackend(configuration: configuration)
        InstrumentationSystem.bootstrap(tracer)
        return service
    }
}
