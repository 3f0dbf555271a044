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

    public init(id: String, name: String, role: String? = nil) {
        self.id = id
        self.name = name
        self.role = role
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

    public init(
        seq: UInt64, id: String, room: String, user: CommentAuthor, text: String, color: String,
        mode: CommentMode, ts: Int64, size: CommentSize? = nil, pool: Bool? = nil
    ) {
        self.size = size == .normal ? nil : size
        self.pool = pool == true ? true : nil
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
