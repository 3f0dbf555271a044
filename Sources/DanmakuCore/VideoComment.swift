// Danmaku — a live-stream bullet-comment service.

/// A comment of a video's pool: pinned to a moment of the video (`offsetMs` from its start)
/// rather than to a place in a live room's sequence.
public struct VideoComment: Codable, Hashable, Sendable {
    /// Position in the video's pool, in the order comments were added (what a like names).
    public var seq: UInt64
    /// Unique id, used to like, recall or retract the comment.
    public var id: String
    /// The video it belongs to.
    public var video: String
    /// The moment of the video it is shown at, milliseconds from the start.
    public var offsetMs: Int64
    /// The author.
    public var user: CommentAuthor
    /// The text after filtering (masked words replaced).
    public var text: String
    /// `#rrggbb`.
    public var color: String
    /// Display mode.
    public var mode: CommentMode
    /// When it was posted (for a published stream: when it was posted live), ms since the Unix epoch.
    public var ts: Int64
    /// `small` or `large`; absent for `normal`.
    public var size: CommentSize?
    /// True for a subtitle or special comment; absent otherwise.
    public var pool: Bool?
    /// How many users like it; absent (zero) until one does. Filled in when served.
    public var likes: Int?
    /// The weight it was accepted with (`CommentWeight`, 1–10; its likes add to it, see
    /// `currentWeight`); nil for a comment without one (stored before weights were, or imported).
    public var weight: Int?

    public init(
        seq: UInt64, id: String, video: String, offsetMs: Int64, user: CommentAuthor, text: String, color: String,
        mode: CommentMode, ts: Int64, size: CommentSize? = nil, pool: Bool? = nil, likes: Int? = nil, weight: Int? = nil
    ) {
        self.seq = seq
        self.id = id
        self.video = video
        self.offsetMs = offsetMs
        self.user = user
        self.text = text
        self.color = color
        self.mode = mode
        self.ts = ts
        self.size = size == .normal ? nil : size
        self.pool = pool == true ? true : nil
        self.likes = likes.flatMap { $0 > 0 ? $0 : nil }
        self.weight = CommentWeight.checked(weight)
    }

    private enum CodingKeys: String, CodingKey { case seq, id, video, offsetMs, user, text, color, mode, ts, size, pool, likes, weight }

    /// Decodes as the synthesized decoder would, except `weight`: one out of range or not an
    /// integer (a stored value someone crafted) is dropped, not trusted and not fatal.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            seq: try container.decode(UInt64.self, forKey: .seq), id: try container.decode(String.self, forKey: .id),
            video: try container.decode(String.self, forKey: .video), offsetMs: try container.decode(Int64.self, forKey: .offsetMs),
            user: try container.decode(CommentAuthor.self, forKey: .user), text: try container.decode(String.self, forKey: .text),
            color: try container.decode(String.self, forKey: .color), mode: try container.decode(CommentMode.self, forKey: .mode),
            ts: try container.decode(Int64.self, forKey: .ts), size: try container.decodeIfPresent(CommentSize.self, forKey: .size),
            pool: try container.decodeIfPresent(Bool.self, forKey: .pool), likes: try container.decodeIfPresent(Int.self, forKey: .likes),
            weight: (try? container.decodeIfPresent(Int.self, forKey: .weight)) ?? nil)
    }

    /// Whether a segment over its cap keeps it before any liked comment: a subtitle or special
    /// comment, or one by the video's staff.
    public var isPrivileged: Bool { pool == true || user.role != nil }
}

extension VideoComment {
    /// What one like adds to a comment's `rank`.
    public static let rankPerLike: Int64 = 1 << 26

    /// Where a comment stands when a segment over its cap keeps some: the privileged first, then
    /// the most liked, then the newest. One integer, so that every store can keep a segment's
    /// comments ordered by it and read only the highest; below 2^53, so a Redis sorted-set score
    /// (a double) holds it exactly. Likes and seq each count up to 2^26 − 1 and stay there.
    public static func rank(privileged: Bool, likes: Int, seq: UInt64) -> Int64 {
        let field = rankPerLike - 1
        let likes = min(max(Int64(clamping: likes), 0), field)
        let seq = min(Int64(clamping: seq), field)
        return (privileged ? 1 << 52 : 0) + likes * rankPerLike + seq
    }
}
