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
    /// The weight it was accepted with, 1–10 (its likes add to it: `currentWeight`); nil for a
    /// comment without one (stored before weights were, imported, or sent with one out of range).
    public var weight: Int?

    private enum CodingKeys: String, CodingKey { case seq, id, video, offsetMs, text, color, mode, size, pool, ts, user, likes, weight }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        seq = try container.decode(UInt64.self, forKey: .seq)
        id = try container.decode(String.self, forKey: .id)
        video = try container.decode(String.self, forKey: .video)
        offsetMs = try container.decode(Int64.self, forKey: .offsetMs)
        text = try container.decode(String.self, forKey: .text)
        color = try container.decodeIfPresent(String.self, forKey: .color)
        mode = try container.decodeIfPresent(String.self, forKey: .mode)
        size = try container.decodeIfPresent(String.self, forKey: .size)
        pool = try container.decodeIfPresent(Bool.self, forKey: .pool)
        ts = try container.decode(Int64.self, forKey: .ts)
        user = try container.decode(DanmakuComment.Author.self, forKey: .user)
        likes = try container.decodeIfPresent(Int.self, forKey: .likes)
        // A weight out of range, or not an integer, is dropped rather than losing the segment.
        weight = ((try? container.decodeIfPresent(Int.self, forKey: .weight)) ?? nil).flatMap { DanmakuShielding.levels.contains($0) ? $0 : nil }
    }
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
/// `bus_unavailable`, so a retry is never stored twice. At a `shieldingLevel` above 1, segments are
/// fetched with `?minWeight=`: the comments that weigh less never arrive.
public final class DanmakuVideoPool: Sendable {
    /// The video's id.
    public let video: String
    private let http: DanmakuHTTP
    /// Segments fetched, with their tags and the shielding level they were fetched at, to revalidate.
    private let cache = Mutex<[Int64: (tag: String, level: Int, segment: DanmakuVideoSegment)]>([:])
    private let level: Mutex<Int>

    /// - Parameters:
    ///   - server: the node's address, `http(s)://host:port` (`ws(s)://` is taken too).
    ///   - token: a token from `danmaku token` for posting and liking (nil: fetch only, or post in
    ///     open mode).
    ///   - shieldingLevel: 1 (every comment) to 10; segments leave out the comments that weigh less.
    public init(server: String, video: String, token: String? = nil, shieldingLevel: Int = 1, session: URLSession = .shared) throws {
        self.video = video
        self.http = try DanmakuHTTP(server: server, token: token, session: session)
        self.level = Mutex(DanmakuShielding.level(shieldingLevel))
    }

    /// The shielding level segments are fetched at, 1 to 10 (a value outside is held to that).
    public var shieldingLevel: Int {
        get { level.withLock { $0 } }
        set { level.withLock { $0 = DanmakuShielding.level(newValue) } }
    }

    private var path: String { "/v1/videos/\(DanmakuHTTP.segment(video))" }

    /// Segment `n` (offsets `n × 360000 ..< (n + 1) × 360000`), without the comments that weigh
    /// less than the shielding level. A segment fetched before at this level is asked for with its
    /// tag; the server answers 304 when it has not changed, and the copy held here is returned.
    public func segment(_ n: Int64) async throws -> DanmakuVideoSegment {
        let level = shieldingLevel
        let held = cache.withLock { $0[n] }.flatMap { $0.level == level ? $0 : nil }
        let headers = held.map { ["If-None-Match": $0.tag] } ?? [:]
        let query = level > DanmakuShielding.levels.lowerBound ? "?minWeight=\(level)" : ""
        let answer = try await http.send(http.request("GET", "\(path)/segments/\(n)\(query)", headers: headers), accepting: [304])
        if answer.status == 304, let held { return held.segment }
        let segment = try DanmakuHTTP.decode(DanmakuVideoSegment.self, answer.body)
        if let tag = answer.headers.first(where: { ($0.key as? String)?.lowercased() == "etag" })?.value as? String {
            cache.withLock { $0[n] = (tag, level, segment) }
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
