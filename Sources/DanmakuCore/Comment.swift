// Danmaku — a live-stream bullet-comment service.

/// How a comment moves over the video.
public enum CommentMode: String, Codable, Sendable, CaseIterable {
    /// Right to left across the screen (the default).
    case scroll
    /// Fixed at the top, centred.
    case top
    /// Fixed at the bottom, centred.
    case bottom
    /// Left to right across the screen (against the flow of the others).
    case reverse
}

/// How large a comment is drawn.
public enum CommentSize: String, Codable, Sendable, CaseIterable {
    case small
    /// The default; not written on the wire.
    case normal
    case large
}

/// Who posted a comment, as viewers see it.
public struct CommentAuthor: Codable, Hashable, Sendable {
    /// Stable user id (a token's `sub`, or an anonymous id in open mode).
    public var id: String
    /// Display name.
    public var name: String
    /// `streamer`, `moderator` or `admin` for a privileged author (their comments are never shed
    /// under a display budget); absent for viewers and anonymous authors.
    public var role: String?
    /// The author's level on the site (a token's `level` claim, 0–6) when it issues one: part of
    /// the weight a comment is accepted with (`CommentWeight`), which the comment carries, so the
    /// level itself is never written on the wire (nor compared: it is not who the author is).
    public var level: Int?

    public init(id: String, name: String, role: String? = nil, level: Int? = nil) {
        self.id = id
        self.name = name
        self.role = role
        self.level = level
    }

    private enum CodingKeys: String, CodingKey { case id, name, role }

    public static func == (lhs: CommentAuthor, rhs: CommentAuthor) -> Bool {
        lhs.id == rhs.id && lhs.name == rhs.name && lhs.role == rhs.role
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(id)
        hasher.combine(name)
        hasher.combine(role)
    }
}

/// An accepted comment, exactly as viewers receive it.
public struct Comment: Codable, Hashable, Sendable {
    /// Position in the room's sequence: strictly increasing by 1 per room.
    public var seq: UInt64
    /// Unique id, used to retract a comment.
    public var id: String
    /// The room it was posted to.
    public var room: String
    /// The author.
    public var user: CommentAuthor
    /// The text after filtering (masked words replaced).
    public var text: String
    /// `#rrggbb`.
    public var color: String
    /// Display mode.
    public var mode: CommentMode
    /// Server accept time, milliseconds since the Unix epoch.
    public var ts: Int64
    /// `small` or `large`; absent for `normal` (old clients never see the field).
    public var size: CommentSize?
    /// True for a subtitle or special comment (only streamers, moderators and admins may post
    /// one); absent otherwise.
    public var pool: Bool?
    /// The weight it was accepted with (`CommentWeight`, 1–10; likes add to it); nil for a comment
    /// stored before weights were, or whose stored weight is out of range.
    public var weight: Int?

    public init(
        seq: UInt64, id: String, room: String, user: CommentAuthor, text: String, color: String,
        mode: CommentMode, ts: Int64, size: CommentSize? = nil, pool: Bool? = nil, weight: Int? = nil
    ) {
        self.size = size == .normal ? nil : size
        self.pool = pool == true ? true : nil
        self.weight = CommentWeight.checked(weight)
        self.seq = seq
        self.id = id
        self.room = room
        self.user = user
        self.text = text
        self.color = color
        self.mode = mode
        self.ts = ts
    }
}

extension Comment {
    private enum CodingKeys: String, CodingKey { case seq, id, room, user, text, color, mode, ts, size, pool, weight }

    /// Decodes as the synthesized decoder would, except `weight`: one out of range or not an
    /// integer (a stored value someone crafted) is dropped, not trusted and not fatal.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            seq: try container.decode(UInt64.self, forKey: .seq), id: try container.decode(String.self, forKey: .id),
            room: try container.decode(String.self, forKey: .room), user: try container.decode(CommentAuthor.self, forKey: .user),
            text: try container.decode(String.self, forKey: .text), color: try container.decode(String.self, forKey: .color),
            mode: try container.decode(CommentMode.self, forKey: .mode), ts: try container.decode(Int64.self, forKey: .ts),
            size: try container.decodeIfPresent(CommentSize.self, forKey: .size), pool: try container.decodeIfPresent(Bool.self, forKey: .pool),
            weight: (try? container.decodeIfPresent(Int.self, forKey: .weight)) ?? nil)
    }
}
