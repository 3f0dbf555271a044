// Danmaku — a live-stream bullet-comment service.

import DanmakuBus
import DanmakuCore
import DanmakuIngest
import Foundation
import DanmakuRedis
import DanmakuLogic
import DanmakuPush
import NIOCore

/// Settings of one process: where it listens and the settings of each role it runs.
public struct ServerConfiguration: Sendable {
    /// Address to bind.
    public var host = "127.0.0.1"
    /// Port to bind; 0 picks a free one (see `DanmakuServer.port`).
    public var port = 7000
    /// The base URL other hosts reach this node at (`--advertise-url`), announced in Redis for
    /// `danmaku status --bus`; nil: `http://host:port`, or none when `host` is a wildcard.
    public var advertisedURL: String?
    /// EventLoop threads; 0 means one per available core.
    public var threads = 0
    /// Which roles this process runs.
    public var roles = ServerRoles.all
    /// Where comments travel between the roles.
    public var bus = BusChoice.memory
    /// How long a Redis command may take before it fails (and the connection is renewed, since
    /// later answers could not be matched).
    public var busTimeout = TimeAmount.seconds(2)
    /// Replicas that must confirm a comment before it is answered 201 (Redis `WAIT`); 0: none.
    public var busMinReplicas = 0
    /// How long a post waits for those confirmations.
    public var busReplicaTimeout = TimeAmount.milliseconds(500)
    /// Secret of the HS256 tokens posts must carry; nil runs the open (development) mode, where
    /// anyone may post anonymously.
    public var jwtSecret: String?
    /// A room with no post for this long, and no viewer, is forgotten (its next post starts a new
    /// epoch at seq 1): in memory, and in Redis, where its keys expire; 0: never.
    public var roomIdleSeconds = 86_400
    /// The most rooms one process holds in memory; past it the least recently posted-to rooms
    /// without viewers are forgotten. (With `--data-dir` they leave memory only: the archive
    /// loads a room again when it is next used, its numbering continuing.)
    public var maxRooms = 100_000
    /// The two bounds above, as the memory bus and the archive's memory apply them.
    public var roomRetention: RoomRetention {
        RoomRetention(idleMilliseconds: roomIdleSeconds > 0 ? Int64(saturating: Double(roomIdleSeconds) * 1000) : nil, maxRooms: maxRooms)
    }

    /// Where the durable archive lives (`--data-dir`); nil: comments live in memory only.
    public var dataDirectory: String?
    /// How often online counts are reported, gathered and sent to viewers (when changed).
    public var presenceInterval = Duration.seconds(2)
    /// How long shutdown waits for viewers to leave before closing everything.
    public var drainTimeout = TimeAmount.seconds(5)
    /// The HTTP API.
    public var ingest = IngestConfiguration()
    /// Validation, limits, filter, history.
    public var logic = LogicConfiguration()
    /// WebSocket viewers and batching.
    public var push = PushConfiguration()

    public init() {}
}

/// The roles a process runs. `api` is ingest and logic together (they share the process path of
/// a post); `push` holds the viewers' WebSockets.
public struct ServerRoles: OptionSet, Sendable, CustomStringConvertible {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }

    /// Ingest and logic: the HTTP API that takes, checks and stores comments.
    public static let api = ServerRoles(rawValue: 1)
    /// Push: viewers' WebSockets and batched fan-out.
    public static let push = ServerRoles(rawValue: 2)
    public static let all: ServerRoles = [.api, .push]

    /// Parses `all` or a comma-separated list of `ingest`, `logic` and `push` (ingest and logic
    /// go together); nil when invalid.
    public init?(list: String) {
        var roles: ServerRoles = []
        var named: Set<String> = []
        for name in list.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces).lowercased() }) {
            switch name {
            case "all": roles.formUnion(.all)
            case "ingest", "logic": roles.insert(.api); named.insert(name)
            case "push": roles.insert(.push)
            default: return nil
            }
        }
        // A node that takes posts but does not check them (or the reverse) does not exist.
        guard !roles.isEmpty, named.count != 1 || list.lowercased().contains("all") else { return nil }
        self = roles
    }

    public var description: String {
        switch self {
        case .all: "all roles"
        case .api: "ingest,logic"
        case .push: "push"
        default: "none"
        }
    }
}

/// Where comments travel between the roles.
public enum BusChoice: Sendable, Equatable, CustomStringConvertible {
    /// In process: every role in this process, nothing shared with others.
    case memory
    /// A Redis 7 server shared by every node.
    case redis(RedisAddress)

    /// Parses `memory` or `redis://host:port`.
    public init?(_ text: String) {
        if text == "memory" {
            self = .memory
        } else if let address = RedisAddress(url: text) {
            self = .redis(address)
        } else {
            return nil
        }
    }

    public var description: String {
        switch self {
        case .memory: "in-memory bus"
        case .redis(let address): "bus \(address)"
        }
    }
}
