// Danmaku — a live-stream bullet-comment service.

import Logging
import Tracing

/// The id of the HTTP request being served (`X-Request-Id`, given by the client or made by the
/// node), carried in the task's `ServiceContext` beside the trace: the post's span records it,
/// and every log line written while serving the request names it.
public enum RequestIDKey: ServiceContextKey {
    public typealias Value = String
    public static var nameOverride: String? { "request_id" }
}

extension ServiceContext {
    /// The id of the HTTP request this task serves, if any.
    public var requestID: String? {
        get { self[RequestIDKey.self] }
        set { self[RequestIDKey.self] = newValue }
    }
}

/// Log metadata taken from the task's context.
public enum RequestLogMetadata {
    /// Adds `request_id` to log lines written while a request is served (with `trace_id` and
    /// `span_id` beside it when tracing is on, from the tracer's own provider).
    public static let provider = Logger.MetadataProvider {
        guard let id = ServiceContext.current?.requestID else { return [:] }
        return ["request_id": .string(id)]
    }
}
