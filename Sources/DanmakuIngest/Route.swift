// Danmaku — a live-stream bullet-comment service.

import DanmakuCore
import Foundation

/// What a request path asks for.
public enum Route: Equatable, Sendable {
    case health
    /// `/readyz`: whether this node should get traffic now.
    case ready
    case metrics
    case comments(RoomID)
    case viewerSocket(RoomID)
    /// `/v1/rooms/{room}/events`: the room as Server-Sent Events.
    case events(RoomID)
    /// `/v1/rooms/{room}/bans`: ban a user.
    case bans(RoomID)
    /// `/v1/rooms/{room}/comments/{id}`: retract a comment.
    case comment(RoomID, id: String)
    /// `/v1/rooms/{room}/bans/{user}`: lift a ban.
    case ban(RoomID, user: String)
    /// `/v1/rooms/{room}/settings`: slow mode.
    case settings(RoomID)
    /// `/v1/words`: the node's blocked-word list.
    case words
    /// `/v1/rooms`: the busiest rooms (`?top=N`).
    case rooms
    /// `/v1/rooms/{room}`: online count, latest seq, comment rate.
    case room(RoomID)
    /// `/v1/rooms/{room}/notices`: a notice from a backend or a streamer's tool.
    case notices(RoomID)
    /// `/v1/broadcast`: a notice to every room.
    case broadcast
    /// `/v1/rooms/{room}/live`: start (POST) or end (DELETE) a stream, for replay.
    case live(RoomID)
    /// `/v1/rooms/{room}/replay`: a stream's comments by offset.
    case replay(RoomID)
    /// The viewer page: `/` (room `lobby`, or `?room=`) or `/rooms/{room}`.
    case viewerPage
    /// `/client.js`, `/screen.js`, `/playback.js`, `/admin.js`: the pages' JavaScript modules.
    case script(PageScript)
    /// `/v1/rooms/{room}/comments/{id}/likes`: a viewer likes a comment.
    case likes(RoomID, id: String)
    /// `/admin`: the operators' dashboard page.
    case adminPage
    /// `/v1/admin/stats`: the figures the dashboard draws.
    case adminStats
    /// `/videos/{video}`: the viewer page playing a video's pool.
    case videoPage
    /// `/v1/videos/{video}/comments`: a comment pinned to a moment of the video.
    case videoComments(VideoID)
    /// `/v1/videos/{video}/comments/{id}`: take a comment out of the pool.
    case videoComment(VideoID, id: String)
    /// `/v1/videos/{video}/comments/{id}/likes`: a viewer likes a video's comment.
    case videoLikes(VideoID, id: String)
    /// `/v1/videos/{video}/segments/{n}`: the comments of the n-th six minutes (n as sent,
    /// range-checked by the handler).
    case videoSegment(VideoID, segment: String)
    /// `/v1/videos/{video}/publish`: a finished stream's comments become the video's pool.
    case videoPublish(VideoID)
    /// A video path whose video id is malformed.
    case invalidVideo
    /// A room path whose room id is malformed.
    case invalidRoom
    case unknown

    /// Parses the path part of a URI (the query is ignored).
    public init(path: Substring) {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        switch parts.count {
        case 2 where parts[1].isEmpty:
            self = .viewerPage
        case 3 where parts[1] == "rooms":
            self = RoomID(parts[2]) == nil ? .invalidRoom : .viewerPage
        case 3 where parts[1] == "videos":
            self = VideoID(parts[2]) == nil ? .invalidVideo : .videoPage
        case 5...7 where parts[1] == "v1" && parts[2] == "videos":
            self = Self.video(parts)
        case 2 where parts[1] == "readyz":
            self = .ready
        case 2 where parts[1] == "healthz":
            self = .health
        case 2 where parts[1] == "metrics":
            self = .metrics
        case 2 where PageScript(rawValue: String(parts[1])) != nil:
            self = .script(PageScript(rawValue: String(parts[1]))!)
        case 2 where parts[1] == "admin":
            self = .adminPage
        case 4 where parts[1] == "v1" && parts[2] == "admin" && parts[3] == "stats":
            self = .adminStats
        case 3 where parts[1] == "v1" && parts[2] == "words":
            self = .words
        case 3 where parts[1] == "v1" && parts[2] == "rooms":
            self = .rooms
        case 3 where parts[1] == "v1" && parts[2] == "broadcast":
            self = .broadcast
        case 4 where parts[1] == "v1" && parts[2] == "rooms":
            self = RoomID(parts[3]).map { .room($0) } ?? .invalidRoom
        case 5 where parts[1] == "v1" && parts[2] == "rooms"
            && ["comments", "ws", "events", "bans", "settings", "notices", "live", "replay"].contains(parts[4]):
            guard let room = RoomID(parts[3]) else {
                self = .invalidRoom
                return
            }
            switch parts[4] {
            case "comments": self = .comments(room)
            case "ws": self = .viewerSocket(room)
            case "events": self = .events(room)
            case "bans": self = .bans(room)
            case "notices": self = .notices(room)
            case "live": self = .live(room)
            case "replay": self = .replay(room)
            default: self = .settings(room)
            }
        case 6 where parts[1] == "v1" && parts[2] == "rooms" && (parts[4] == "bans" || parts[4] == "comments") && !parts[5].isEmpty:
            guard let room = RoomID(parts[3]) else {
                self = .invalidRoom
                return
            }
            let last = String(parts[5]).removingPercentEncoding ?? String(parts[5])
            self = parts[4] == "bans" ? .ban(room, user: last) : .comment(room, id: last)
        case 7 where parts[1] == "v1" && parts[2] == "rooms" && parts[4] == "comments" && !parts[5].isEmpty && parts[6] == "likes":
            guard let room = RoomID(parts[3]) else {
                self = .invalidRoom
                return
            }
            self = .likes(room, id: String(parts[5]).removingPercentEncoding ?? String(parts[5]))
        default:
            self = .unknown
        }
    }
}

extension Route {
    /// `/v1/videos/{video}/…`, split at "/".
    private static func video(_ parts: [Substring]) -> Route {
        guard let video = VideoID(parts[3]) else { return .invalidVideo }
        let last = parts.count > 5 ? String(parts[5]).removingPercentEncoding ?? String(parts[5]) : ""
        switch (parts.count, parts[4]) {
        case (5, "comments"): return .videoComments(video)
        case (5, "publish"): return .videoPublish(video)
        case (6, "comments") where !last.isEmpty: return .videoComment(video, id: last)
        case (6, "segments") where !last.isEmpty: return .videoSegment(video, segment: last)
        case (7, "comments") where !last.isEmpty && parts[6] == "likes": return .videoLikes(video, id: last)
        default: return .unknown
        }
    }
}

/// A request URI split into path and decoded query parameters.
public struct RequestTarget: Sendable {
    /// The path, without the query.
    public var path: Substring
    /// Query parameters; see `repeated` for names given more than once.
    public var query: [String: String]
    /// Names that appear more than once: a numeric parameter given twice is refused, since the
    /// client and a proxy in front may each read a different one.
    public var repeated: Set<String>

    public init(uri: String) {
        let split = uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        path = split[0]
        query = [:]
        repeated = []
        guard split.count == 2 else { return }
        for pair in split[1].split(separator: "&") {
            let keyValue = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = String(keyValue[0]).removingPercentEncoding ?? String(keyValue[0])
            let value = keyValue.count == 2 ? (String(keyValue[1]).removingPercentEncoding ?? String(keyValue[1])) : ""
            if query.updateValue(value, forKey: key) != nil { repeated.insert(key) }
        }
    }

    /// A numeric parameter in `range` (through `ClientNumber`); nil when absent, `.failure` when
    /// present but empty, malformed, out of range or repeated.
    public func number(_ name: String, in range: ClosedRange<UInt64>) -> Result<UInt64?, DanmakuError> {
        guard let raw = query[name] else { return .success(nil) }
        guard !repeated.contains(name) else { return .failure(ClientNumber.repeated(name)) }
        return ClientNumber.parse(raw, name: name, in: range).map { $0 }
    }

    /// A numeric parameter in `range` as an `Int`, `fallback` when absent.
    public func integer(_ name: String, in range: ClosedRange<Int>, default fallback: Int) -> Result<Int, DanmakuError> {
        number(name, in: UInt64(range.lowerBound)...UInt64(range.upperBound)).map { $0.map { Int($0) } ?? fallback }
    }

    /// The resume point `since` (any seq), nil when absent.
    public var since: Result<UInt64?, DanmakuError> { number("since", in: ClientNumber.seqRange) }

    /// The wire format a viewer asks for (`?v=`), version 1 when absent.
    public var wireFormat: Result<WireFormat, DanmakuError> {
        number("v", in: WireFormat.versions).map { $0.flatMap { WireFormat(rawValue: Int($0)) } ?? .full }
    }

    /// `GET /v1/admin/stats?since=`: the dashboard's figures recorded after this time (milliseconds
    /// since 1970; 0 for all that are kept), nil when absent.
    public var historySince: Result<Int64?, DanmakuError> {
        number("since", in: 0...UInt64(Int64.max)).map { $0.map { Int64($0) } }
    }

    /// The epoch `since` belongs to, nil when absent.
    public var epoch: Result<Int64?, DanmakuError> { number("epoch", in: ClientNumber.epochRange).map { $0.map { Int64($0) } } }
}
