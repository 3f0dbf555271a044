// Danmaku — a live-stream bullet-comment service.

import DanmakuBus
import DanmakuCore
import DanmakuIngest
import DanmakuLogic
import Foundation
import NIOCore
import NIOEmbedded
import NIOHTTP1

/// The HTTP API as the server builds it (NIO's parser and encoder with pipelining assistance,
/// and `HTTPAPIHandlers`: head-size limit, request deadline, body collector, API) on a
/// `NIOAsyncTestingChannel`, whose loop the handlers' async work may complete on from any thread.
///
/// The fuzzed bytes are a request head (request line and headers); the harness drops the
/// body-framing headers (`Content-Length`, `Transfer-Encoding`: bodies are another target's)
/// and ends the head. Properties: exactly one well-formed HTTP/1.1 answer arrives, an error
/// answer carries a JSON `{"error":{"code":…}}`, and a connection left open still answers
/// `GET /healthz` with 200.
final class HTTPHarness: Sendable {
    let service: CommentService
    let rooms: RoomQueries
    let transfer: VideoPoolTransfer
    let configuration: IngestConfiguration

    init() {
        let bus = MemoryBus(historyCapacity: 10)
        service = CommentService(configuration: LogicConfiguration(), log: bus, bus: bus)
        rooms = RoomQueries(log: bus, online: service.online)
        transfer = VideoPoolTransfer(videos: service.videos, authenticator: OpenPosting(), configuration: LogicConfiguration())
        var configuration = IngestConfiguration()
        // No push role here: upgrades and event streams are answered, not taken over.
        configuration.servesViewers = false
        self.configuration = configuration
    }

    /// The request head made from fuzzed bytes; nil when there is no request line (blank lines
    /// before a request are skipped by HTTP parsers, and answered by nothing).
    static func requestHead(_ bytes: [UInt8]) -> [UInt8]? {
        let text = String(decoding: bytes, as: UTF8.self)
        let lines = text.components(separatedBy: "\r\n").filter { line in
            let name = line.split(separator: ":", maxSplits: 1).first?.trimmingCharacters(in: .whitespaces).lowercased()
            return name != "content-length" && name != "transfer-encoding" && !line.isEmpty
        }
        guard let first = lines.first, !first.allSatisfy({ $0 == "\n" || $0 == "\r" }) else { return nil }
        return Array((lines.joined(separator: "\r\n") + "\r\n\r\n").utf8)
    }

    func check(_ bytes: [UInt8]) async {
        guard let head = Self.requestHead(bytes) else { return }
        let channel = NIOAsyncTestingChannel()
        let (configuration, service, rooms, transfer) = (self.configuration, self.service, self.rooms, self.transfer)
        do {
            try await channel.testingEventLoop.executeInContext {
                try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: false)
                try HTTPAPIHandlers(configuration: configuration, api: IngestHTTPHandler(
                    configuration: configuration, service: service, rooms: rooms, transfer: transfer, figures: NodeFigures(metricsText: { Array("# metrics\n".utf8) }))).add(to: channel.pipeline.syncOperations)
            }
            try await channel.connect(to: SocketAddress(ipAddress: "10.0.0.1", port: 1))
        } catch {
            preconditionFailure("the harness could not be built: \(error)")
        }
        _ = try? await channel.writeInbound(ByteBuffer(bytes: head))
        let input = String(decoding: head, as: UTF8.self).debugDescription
        do {
            let answer = try await Self.response(from: channel)
            precondition(answer != nil, "no complete HTTP answer to \(input)")
            if let answer, answer.keepAlive, channel.isActive {
                _ = try? await channel.writeInbound(ByteBuffer(string: "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"))
                let health = try await Self.response(from: channel)
                precondition(health?.status == 200, "the connection stopped answering after \(input)")
            }
        } catch {
            preconditionFailure("malformed answer to \(input): \(error)")
        }
        _ = try? await channel.close()
    }

    /// One answer read off the channel: waits (up to 2 s) while the handler's async work runs.
    private static func response(from channel: NIOAsyncTestingChannel) async throws -> (status: Int, keepAlive: Bool)? {
        var bytes: [UInt8] = []
        for _ in 0..<2000 {
            await channel.testingEventLoop.run()
            while let part = try? await channel.readOutbound(as: IOData.self) {
                if case .byteBuffer(let buffer) = part { bytes += buffer.readableBytesView }
            }
            if let parsed = try parse(bytes) { return parsed }
            try? await Task.sleep(for: .milliseconds(1))
        }
        return nil
    }

    struct Malformed: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    /// The status and headers (names lowercased) of an answer's head, which must be well-formed.
    static func parseHead(_ text: String) throws -> (status: Int, headers: [String: String]) {
        let head = text.components(separatedBy: "\r\n")
        let statusLine = head[0].split(separator: " ", maxSplits: 2)
        // HTTP/1.0: an event stream answers an HTTP/1.0 request in its version (unchunked).
        guard statusLine.count >= 2, statusLine[0] == "HTTP/1.1" || statusLine[0] == "HTTP/1.0", let status = Int(statusLine[1]),
              (100...599).contains(status) else {
            throw Malformed("status line \(head[0].debugDescription)")
        }
        var headers: [String: String] = [:]
        for line in head.dropFirst() {
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2 else { throw Malformed("header line \(line.debugDescription)") }
            headers[parts[0].lowercased()] = parts[1].trimmingCharacters(in: .whitespaces)
        }
        return (status, headers)
    }

    /// Status and keep-alive of a complete, well-formed answer; nil while incomplete.
    static func parse(_ bytes: [UInt8]) throws -> (status: Int, keepAlive: Bool)? {
        guard let end = bytes.firstRange(of: Array("\r\n\r\n".utf8)) else { return nil }
        let (status, headers) = try parseHead(String(decoding: bytes[..<end.lowerBound], as: UTF8.self))
        let body = bytes[end.upperBound...]
        // 1xx, 204 and 304 end with their head (RFC 9112 §6.3): no body, no framing headers.
        if (100..<200).contains(status) || status == 204 || status == 304 {
            guard headers["transfer-encoding"] == nil, headers["content-length"] == nil || headers["content-length"] == "0" else {
                throw Malformed("a \(status) with body framing")
            }
            guard body.isEmpty else { throw Malformed("a \(status) with a body: \(String(decoding: bytes, as: UTF8.self).debugDescription)") }
            return (status, headers["connection"]?.lowercased() != "close")
        }
        guard let length = headers["content-length"].flatMap({ Int($0) }) else { throw Malformed("an answer without Content-Length") }
        if body.count < length { return nil }
        guard body.count == length else { throw Malformed("more bytes than one answer: \(String(decoding: bytes, as: UTF8.self).debugDescription)") }
        if status >= 400 {
            let json = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any]
            guard (json?["error"] as? [String: Any])?["code"] is String else { throw Malformed("an error answer without a code: \(status)") }
        }
        return (status, headers["connection"]?.lowercased() != "close")
    }
}
