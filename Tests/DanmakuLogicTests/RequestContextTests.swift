import DanmakuLogic
import Logging
import Testing
import Tracing

/// The request id travels with the work done for a request, into its log lines.
@Suite struct RequestContextTests {
    @Test func logLinesWrittenWhileARequestIsServedNameItsID() async {
        #expect(RequestLogMetadata.provider.get().isEmpty, "no request, no id")
        var context = ServiceContext.topLevel
        context.requestID = "r-42"
        let inside = await ServiceContext.withValue(context) {
            await Task { RequestLogMetadata.provider.get() }.value
        }
        #expect(inside["request_id"] == "r-42", "a task started while serving inherits the id")
    }
}
