// Danmaku — a live-stream bullet-comment service.

import NIOHTTP1
import Tracing

/// A request's trace headers (W3C `traceparent`, as the installed instrument reads them): a post
/// sent by a traced client continues the client's trace. Without tracing the context stays empty.
enum TraceHeaders {
    /// The context a request's headers carry.
    static func context(of headers: HTTPHeaders) -> ServiceContext {
        var context = ServiceContext.topLevel
        InstrumentationSystem.instrument.extract(headers, into: &context, using: Extractor())
        return context
    }

    private struct Extractor: Tracing.Extractor {
        func extract(key: String, from headers: HTTPHeaders) -> String? {
            headers.first(name: key)
        }
    }
}
