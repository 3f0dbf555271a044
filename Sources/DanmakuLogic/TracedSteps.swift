// Danmaku — a live-stream bullet-comment service.

import Tracing

/// The spans around a post's steps (`danmaku.post`, `.check`, `.admit`, `.store`, `.publish`),
/// opened only when a tracer is set up (`--otel-endpoint`). With none, `withSpan` still made a
/// no-op span per step, read the clock and bound the span as a task-local around the step; here
/// the step runs with a no-op span and nothing else.
enum TracedSteps {
    /// Whether a tracer other than the no-op one is set up.
    static var areTraced: Bool { !(InstrumentationSystem.tracer is NoOpTracer) }

    /// `operation` inside a span named `name`, when traced.
    static func step<T>(
        _ name: String, ofKind kind: SpanKind = .internal, _ operation: (any Span) async throws -> T
    ) async rethrows -> T {
        guard areTraced else { return try await operation(NoOpTracer.NoOpSpan(context: .topLevel)) }
        return try await withSpan(name, ofKind: kind, operation)
    }

    /// `step` for work that does not suspend.
    static func step<T>(_ name: String, ofKind kind: SpanKind = .internal, _ operation: (any Span) throws -> T) rethrows -> T {
        guard areTraced else { return try operation(NoOpTracer.NoOpSpan(context: .topLevel)) }
        return try withSpan(name, ofKind: kind, operation)
    }
}
