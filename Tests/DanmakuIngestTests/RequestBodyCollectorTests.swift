import DanmakuIngest
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

/// Body collection with its limit, on an embedded channel.
@Suite struct RequestBodyCollectorTests {
    private func channel() -> EmbeddedChannel {
        EmbeddedChannel(handler: RequestBodyCollector(maxBodyBytes: 10))
    }

    private func head(contentLength: String? = nil) -> HTTPRequestHead {
        var head = HTTPRequestHead(version: .http1_1, method: .POST, uri: "/v1/rooms/r/comments")
        if let contentLength { head.headers.add(name: "Content-Length", value: contentLength) }
        return head
    }

    private func read(_ channel: EmbeddedChannel) throws -> [CollectedRequest] {
        var collected: [CollectedRequest] = []
        while let next = try channel.readInbound(as: CollectedRequest.self) { collected.append(next) }
        return collected
    }

    private func refusalCode(_ collected: CollectedRequest?) -> String? {
        guard case .refused(let error) = collected else { return nil }
        return error.code
    }

    @Test func aRequestArrivesWholeWithItsBody() throws {
        let channel = channel()
        try channel.writeInbound(HTTPServerRequestPart.head(head()))
        try channel.writeInbound(HTTPServerRequestPart.body(ByteBuffer(string: "hello ")))
        try channel.writeInbound(HTTPServerRequestPart.body(ByteBuffer(string: "you")))
        #expect(try read(channel).isEmpty, "nothing is passed on before the end")
        try channel.writeInbound(HTTPServerRequestPart.end(nil))
        let collected = try read(channel)
        guard collected.count == 1, case .request(let head, let body) = collected[0] else {
            Issue.record("one request expected, got \(collected)")
            return
        }
        #expect(head.uri == "/v1/rooms/r/comments")
        #expect(String(buffer: body) == "hello you")
    }

    @Test func aDeclaredLengthOverTheLimitIsRefusedBeforeTheBody() throws {
        let channel = channel()
        try channel.writeInbound(HTTPServerRequestPart.head(head(contentLength: "11")))
        #expect(refusalCode(try read(channel).first) == "body_too_large")
        // The rest of the refused request is dropped, not passed on as another request.
        try channel.writeInbound(HTTPServerRequestPart.body(ByteBuffer(string: "01234567890")))
        try channel.writeInbound(HTTPServerRequestPart.end(nil))
        #expect(try read(channel).isEmpty)
    }

    @Test func aHugeDeclaredLengthIsRefusedNotTrapped() throws {
        let channel = channel()
        try channel.writeInbound(HTTPServerRequestPart.head(head(contentLength: "99999999999999999999999999")))
        // Int's parser says nil for a number past Int.max; the body limit then applies as it arrives.
        try channel.writeInbound(HTTPServerRequestPart.body(ByteBuffer(string: "01234567890")))
        #expect(refusalCode(try read(channel).first) == "body_too_large")
    }

    @Test func aBodyThatGrowsPastTheLimitIsRefusedOnce() throws {
        let channel = channel()
        try channel.writeInbound(HTTPServerRequestPart.head(head()))
        try channel.writeInbound(HTTPServerRequestPart.body(ByteBuffer(string: "0123456789")))
        #expect(try read(channel).isEmpty, "exactly the limit is allowed")
        try channel.writeInbound(HTTPServerRequestPart.body(ByteBuffer(string: "x")))
        try channel.writeInbound(HTTPServerRequestPart.body(ByteBuffer(string: "more")))
        let collected = try read(channel)
        #expect(collected.count == 1)
        #expect(refusalCode(collected.first) == "body_too_large")
    }

    @Test func unparseableHTTPIsRefusedOnceAndOtherErrorsPassOn() throws {
        let channel = channel()
        channel.pipeline.fireErrorCaught(HTTPParserError.invalidVersion)
        channel.pipeline.fireErrorCaught(HTTPParserError.invalidVersion)
        let collected = try read(channel)
        #expect(collected.count == 1)
        #expect(refusalCode(collected.first) == "malformed_request")
        struct Other: Error {}
        channel.pipeline.fireErrorCaught(Other())
        #expect(throws: Other.self) { try channel.throwIfErrorCaught() }
    }

    /// An import's 16 MiB bound is granted only to a request with a bearer token, and to at most
    /// two such requests of the node at once: without a token (401), or past the two (503), a
    /// large body is refused at its head instead of buffered.
    @Test func aFileBoundNeedsATokenAndAFreeSlot() throws {
        func importHead(token: Bool) -> HTTPRequestHead {
            var head = HTTPRequestHead(version: .http1_1, method: .POST, uri: "/v1/videos/v/import?format=bilibili-xml")
            head.headers.add(name: "Content-Length", value: "100000")
            if token { head.headers.add(name: "Authorization", value: "Bearer x") }
            return head
        }
        // Slots of its own: the process's are shared with tests that import files meanwhile.
        let slots = FileBodySlots(limit: 2)
        func channel() -> EmbeddedChannel { EmbeddedChannel(handler: RequestBodyCollector(maxBodyBytes: 10, fileSlots: slots)) }
        let anonymous = channel()
        try anonymous.writeInbound(HTTPServerRequestPart.head(importHead(token: false)))
        #expect(refusalCode(try read(anonymous).first) == "missing_token", "answered at its head, its body never read")
        let first = channel(), second = channel(), third = channel()
        try first.writeInbound(HTTPServerRequestPart.head(importHead(token: true)))
        try second.writeInbound(HTTPServerRequestPart.head(importHead(token: true)))
        #expect(try read(first).isEmpty && read(second).isEmpty, "two file bodies are read at once")
        try third.writeInbound(HTTPServerRequestPart.head(importHead(token: true)))
        #expect(refusalCode(try read(third).first) == "files_busy")
        // A connection that goes away gives its slot back.
        _ = try first.finish()
        let fourth = channel()
        try fourth.writeInbound(HTTPServerRequestPart.head(importHead(token: true)))
        #expect(try read(fourth).isEmpty)
        _ = try second.finish()
        _ = try fourth.finish()
    }
}
