// Danmaku — a live-stream bullet-comment service.

import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// What a viewer does to a live room's comments besides posting: like one (counted once per
/// user; the new count reaches every viewer as a `likes` event), report one to the room's staff,
/// and take back one's own within the recall window. Over HTTP, beside a `DanmakuClient`
/// watching the room.
///
/// ```swift
/// let actions = try DanmakuRoomActions(server: "http://127.0.0.1:7000", token: token)
/// let count = try await actions.like(comment.id, seq: comment.seq, in: "lobby")
/// try await actions.recall(receipt.id, in: "lobby")
/// ```
public struct DanmakuRoomActions: Sendable {
    private let http: DanmakuHTTP

    /// - Parameters:
    ///   - server: the node's address, `http(s)://host:port` (`ws(s)://` is taken too).
    ///   - token: the viewer's token (nil in open mode).
    public init(server: String, token: String? = nil, session: URLSession = .shared) throws {
        http = try DanmakuHTTP(server: server, token: token, session: session)
    }

    /// Likes comment `id` (its `seq` too, which the server checks it by) in `room`; its count.
    @discardableResult
    public func like(_ id: String, seq: UInt64, in room: String) async throws -> Int {
        let path = "/v1/rooms/\(DanmakuHTTP.segment(room))/comments/\(DanmakuHTTP.segment(id))/likes"
        let answer = try await http.send(http.request("POST", path, body: ["seq": seq]))
        return try DanmakuHTTP.decode(CommentLikes.Answer.self, answer.body).likes
    }

    /// Reports comment `id` (`seq`) of `room` to the room's staff, once per viewer: a second report
    /// of it throws `DanmakuClientError` with code `already_reported`.
    @discardableResult
    public func report(_ id: String, seq: UInt64, in room: String, reason: DanmakuReportReason, text: String? = nil) async throws -> DanmakuReportFiled {
        let path = "/v1/rooms/\(DanmakuHTTP.segment(room))/comments/\(DanmakuHTTP.segment(id))/reports"
        let answer = try await http.send(http.request("POST", path, body: reason.body(text: text, seq: seq)))
        return try DanmakuHTTP.decode(DanmakuReportFiled.self, answer.body)
    }

    /// Takes one's own comment `id` back (within the room's recall window; a moderator may take
    /// back any): it leaves history and every viewer gets a `retracted` event. Its seq.
    @discardableResult
    public func recall(_ id: String, in room: String) async throws -> UInt64 {
        let path = "/v1/rooms/\(DanmakuHTTP.segment(room))/comments/\(DanmakuHTTP.segment(id))"
        let answer = try await http.send(http.request("DELETE", path))
        let json = try JSONSerialization.jsonObject(with: answer.body) as? [String: Any]
        return (json?["seq"] as? NSNumber)?.uint64Value ?? 0
    }
}
