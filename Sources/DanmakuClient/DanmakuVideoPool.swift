// Danmaku — a live-stream bullet-comment service.

import Foundation
import Synchronization
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A comment of a recorded video's pool, pinned to a moment of the video (docs/PROTOCOL.md,
/// "Video danmaku pools").
public struct DanmakuVideoComment: Sendable, Decodable, Equatable {
    public var seq: UInt64
    public var id: String
    public var video: String
    /// When the video shows it: milliseconds from its start.
    public var offsetMs: Int64
    public var text: String
    /// `#rrggbb`.
    public var color: String?
    /// `scroll`, `top`, `bottom` or `reverse`.
    public var mode: String?
    public var size: String?
    public var pool: Bool?
    /// When it was posted, in milliseconds since 1970.
    public var ts: Int64
    public var user: DanmakuComment.Author
    /// How many viewers like it (nil: none yet).
    public var likes: Int?
}

/// Six minutes of a video's pool: the comments with offsets in `from..<to`, in offset order.
public struct DanmakuVideoSegment: Sendable, Decodable, Equatable {
    public var video: String
    public var segment: Int64
    public var from: Int64
    public var to: Int64
    public var comments: [DanmakuVideoComment]
}

/// The answer to an accepted video comment.
public struct VideoPostReceipt: Sendable, Decodable, Equatable {
    public var id: String
    public var video: String
    public var seq: UInt64
    public var offsetMs: Int64
    public var ts: Int64
}

/// A recorded video's comment pool over HTTP: segments fetched as a player plays (revalidated
/// with their `ETag`, so an unchanged segment costs the server a 304), posting at an offset,
/// likes, and taking a comment back.
///
/// ```swift
/// let pool = try DanmakuVideoPool(server: "http://127.0.0.1:7000", video: "film", token: token)
/// let first = try await pool.segment(0)            // offsets 0..<360000
/// try await pool.post("here it comes", atMs: 61_500)
/// ```
///
/// Posts carry an idempotency key and are sent again with it after a lost answer or a
/// `bus_unavailable`, so a retry is never stored twice.
public final class DanmakuVideoPool: Sendable {
    /// The video's id.
    public let video: String
    private let http: DanmakuHTTP
    /// Segments fetched, with their tags, to revalidate.
    private let cache = Mutex<[Int64: (tag: String, segment: DanmakuVideoSegment)]>([:])

    /// - Parameters:
    ///   - server: the node's address, `http(s)://host:port` (`ws(s)://` is taken too).
    ///   - token: a token from `danmaku token` for posting and liking (nil: fetch only, or post in
    ///     open mode).
    public init(server: String, video: String, token: String? = nil, session: URLSession = .shared) throws {
        self.video = video
        self.http = try DanmakuHTTP(server: server, token: token, session: session)
    }

    private var path: String { "/v1/videos/\(DanmakuHTTP.segment(video))" }

    /// Segment `n` (offsets `n × 360000 ..< (n + 1) × 360000`). A segment fetched before is
    /// asked for with its tag; the server answers 304 when it has not changed, and the copy held
    /// here is returned.
    public func segment(_ n: Int64) async throws -> DanmakuVideoSegment {
        let held = cache.withLock { $0[n] }
        let headers = held.map { ["If-None-Match": $0.tag] } ?? [:]
        let answer = try await http.send(http.request("GET", "\(path)/segments/\(n)", headers: headers), accepting: [304])
        if answer.status == 304, let held { return held.segment }
        let segment = try DanmakuHTTP.decode(DanmakuVideoSegment.self, answer.body)
        if let tag = answer.headers.first(where: { ($0.key as? String)?.lowercased() == "etag" })?.value as? String {
            cache.withLock { $0[n] = (tag, segment) }
        }
        return segment
    }

    /// Posts `text` at `atMs` milliseconds into the video; the server's receipt.
    @discardableResult
    public func post(
        _ text: String, atMs offset: Int64, color: String? = nil, mode: String? = nil, size: String? = nil
    ) async throws -> VideoPostReceipt {
        var body: [String: Any] = ["text": text, "offsetMs": offset]
        if let color { body["color"] = color }
        if let mode { body["mode"] = mode }
        if let size { body["size"] = size }
        return try DanmakuHTTP.decode(VideoPostReceipt.self, try await http.post("\(path)/comments", body: body))
    }

    /// Likes comment `id` (counted once per user); its count of likes.
    @discardableResult
    public func like(_ id: String) async throws -> Int {
        let answer = try await http.send(http.request("POST", "\(path)/comments/\(DanmakuHTTP.segment(id))/likes"))
        return try DanmakuHTTP.decode(CommentLikes.Answer.self, answer.body).likes
    }

    /// Reports comment `id` of the pool to the video's staff, once per viewer (a second report
    /// throws `DanmakuClientError` with code `already_reported`).
    @discardableResult
    public func report(_ id: String, reason: DanmakuReportReason, text: String? = nil) async throws -> DanmakuReportFiled {
        let answer = try await http.send(http.request("POST", "\(path)/comments/\(DanmakuHTTP.segment(id))/reports", body: reason.body(text: text)))
        return try DanmakuHTTP.decode(DanmakuReportFiled.self, answer.body)
    }

    /// Takes comment `id` out of the pool: one's own within the recall window, or any as a
    /// moderator of the video.
    public func remove(_ id: String) async throws {
        _ = try await http.send(http.request("DELETE", "\(path)/comments/\(DanmakuHTTP.segment(id))"))
    }
}

extension CommentLikes {
    /// A like's answer: `{"id","seq","likes"}`.
    struct Answer: Decodable {
        var id: String
        var seq: UInt64
        var likes: Int
    }
}
