// Danmaku — a live-stream bullet-comment service.

/// A comment (or a streamer's notice) as a viewer receives it (docs/PROTOCOL.md, wire format 1).
public struct DanmakuComment: Sendable, Decodable, Equatable {
    /// The comment's place in its room: every seq after a viewer's starting point arrives once,
    /// in order.
    public var seq: UInt64
    public var id: String
    public var room: String
    /// The text; nil for a notice, whose content is its `payload` (not decoded here).
    public var text: String?
    /// `#rrggbb`.
    public var color: String?
    /// `scroll`, `top`, `bottom` or `reverse` (later modes may come: show them as `scroll`).
    public var mode: String?
    /// When it was accepted, in milliseconds since 1970.
    public var ts: Int64
    public var user: Author
    /// `notice` for a streamer's notice; nil for a viewer's comment.
    public var kind: String?
    /// `small` or `large`; nil for normal.
    public var size: String?
    /// True for a subtitle or special comment from the room's staff.
    public var pool: Bool?
    /// In a room that merges repeats: how many identical comments this one stands for, itself
    /// included ("666" × 48); nil when it stands for itself alone.
    public var repeats: Int?
    /// The weight it was accepted with, 1–10 (likes add to it: `currentWeight`); nil for a comment
    /// without one (stored before weights were, or sent with one out of range).
    public var weight: Int?

    public struct Author: Sendable, Decodable, Equatable {
        public var id: String
        public var name: String
        /// `streamer`, `moderator` or `admin` for the room's staff; nil otherwise.
        public var role: String?

        public init(id: String, name: String, role: String? = nil) {
            self.id = id
            self.name = name
            self.role = role
        }
    }
}

extension DanmakuComment {
    private enum CodingKeys: String, CodingKey { case seq, id, room, text, color, mode, ts, user, kind, size, pool, repeats, weight }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        seq = try container.decode(UInt64.self, forKey: .seq)
        id = try container.decode(String.self, forKey: .id)
        room = try container.decode(String.self, forKey: .room)
        text = try container.decodeIfPresent(String.self, forKey: .text)
        color = try container.decodeIfPresent(String.self, forKey: .color)
        mode = try container.decodeIfPresent(String.self, forKey: .mode)
        ts = try container.decode(Int64.self, forKey: .ts)
        user = try container.decode(Author.self, forKey: .user)
        kind = try container.decodeIfPresent(String.self, forKey: .kind)
        size = try container.decodeIfPresent(String.self, forKey: .size)
        pool = try container.decodeIfPresent(Bool.self, forKey: .pool)
        repeats = try container.decodeIfPresent(Int.self, forKey: .repeats)
        // A weight out of range, or not an integer, is dropped rather than losing the comment.
        weight = ((try? container.decodeIfPresent(Int.self, forKey: .weight)) ?? nil).flatMap { DanmakuShielding.levels.contains($0) ? $0 : nil }
    }
}

/// What a `DanmakuClient` reports, in the order it happened.
public enum DanmakuEvent: Sendable, Equatable {
    /// A room is watched (after each connection or join): its latest seq when the client joined,
    /// the numbering's epoch, and its viewer count.
    case joined(room: String, lastSeq: UInt64, epoch: Int64, online: Int)
    /// New comments of a room, in seq order, none of them reported before (a reconnect resumes
    /// after the last one reported).
    case comments(room: String, [DanmakuComment])
    /// Comment `id` was taken back (by a moderator, its author, or the server): remove it.
    case retracted(room: String, seq: UInt64, id: String)
    /// Like counts of a room's comments changed (a count may name a comment the client joined too
    /// late to receive).
    case likes(room: String, [CommentLikes])
    /// Seqs `from...to` are no longer in the room's history: they will not come.
    case gap(room: String, from: UInt64, to: UInt64)
    /// The room's viewer count changed.
    case online(room: String, count: Int)
    /// The room started its numbering over (its server restarted without history, or it had been
    /// idle so long it was forgotten): its comments from seq 1 of the new numbering follow.
    case restarted(room: String, epoch: Int64)
    /// The server refused a join or leave (`too_many_rooms`, `already_watching`, `not_watching`,
    /// `invalid_room`).
    case refused(code: String, message: String)
    /// The connection ended; the client reconnects by itself after `retryIn`.
    case disconnected(reason: String, retryIn: Duration)
}

/// How many viewers like a comment.
public struct CommentLikes: Sendable, Decodable, Equatable {
    public var id: String
    public var seq: UInt64
    public var count: Int

    public init(id: String, seq: UInt64, count: Int) {
        self.id = id
        self.seq = seq
        self.count = count
    }
}

/// The answer to an accepted post.
public struct PostReceipt: Sendable, Decodable, Equatable {
    public var id: String
    public var room: String
    public var seq: UInt64
    public var ts: Int64
}

/// Why a client call failed.
public enum DanmakuClientError: Error, Sendable, Equatable {
    /// The server refused the post: its error `code` (`rate_limited`, `filtered`, …), message, and
    /// for limits the seconds to wait.
    case refused(code: String, message: String, retryAfter: Int?)
    /// There is no connection at the moment (the client is reconnecting), or it ended before the
    /// answer came, and `post` ran out of retries: the post may or may not have been accepted.
    case notConnected
    /// The client was closed.
    case closed
    /// The server URL is not `ws://`, `wss://`, `http://` or `https://` with a host.
    case invalidURL(String)
    /// The server answered the upgrade with an HTTP error instead of a WebSocket.
    case upgradeRefused(status: Int)
}
