// Danmaku — a live-stream bullet-comment service.

import DanmakuCore
import Foundation
import Synchronization

/// A room's moderation settings.
public struct RoomSettings: Codable, Sendable, Equatable {
    /// Least seconds between two comments of one user in the room (0: off).
    public var slowModeSeconds: Int
    /// The room's own limit on comments from everyone, `RATE/BURST` (e.g. `5/10`), applied on top
    /// of the node-wide `--room-rate`; nil: none.
    public var rate: String?
    /// The display budget: the most comments per second each viewer is sent (notices,
    /// privileged authors' comments and a viewer's own always go; an even sample of the rest).
    /// nil: off, every viewer gets every comment.
    public var displayPerSecond: Int?
    /// Who may post comments styled beyond the basics (a colour other than white, a mode other
    /// than `scroll`, a size): everyone, or only the room's staff.
    public var stylesFor: StyleAccess
    /// Whether batches send repeated comments ("666" × 48) once, with the seqs of the others
    /// (nil: the node's `--merge-repeats`).
    public var mergeRepeats: Bool?

    /// Who may style comments in a room.
    public enum StyleAccess: String, Codable, Sendable {
        case everyone
        /// The room's streamer, its moderators and admins.
        case staff
    }

    public init(
        slowModeSeconds: Int = 0, rate: String? = nil, displayPerSecond: Int? = nil, stylesFor: StyleAccess = .everyone,
        mergeRepeats: Bool? = nil
    ) {
        self.slowModeSeconds = slowModeSeconds
        self.rate = rate
        self.displayPerSecond = displayPerSecond
        self.stylesFor = stylesFor
        self.mergeRepeats = mergeRepeats
    }

    private enum CodingKeys: String, CodingKey {
        case slowModeSeconds, rate, displayPerSecond, stylesFor, mergeRepeats
    }

    /// Any field may be left out of a request: slow mode then is off, no room rate applies, there
    /// is no display budget, and everyone may style comments.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        slowModeSeconds = try container.decodeIfPresent(Int.self, forKey: .slowModeSeconds) ?? 0
        rate = try container.decodeIfPresent(String.self, forKey: .rate)
        displayPerSecond = try container.decodeIfPresent(Int.self, forKey: .displayPerSecond)
        stylesFor = try container.decodeIfPresent(StyleAccess.self, forKey: .stylesFor) ?? .everyone
        mergeRepeats = try container.decodeIfPresent(Bool.self, forKey: .mergeRepeats)
    }

    /// The largest display budget a room may set (a budget that large is as good as none).
    public static let maxDisplayPerSecond = 10_000

    /// `rate` parsed; nil when unset or malformed.
    public var rateLimit: RateLimit? { rate.flatMap(RateLimit.init(parsing:)) }

    /// The fastest room rate a room may set, comments per second.
    public static let maxRatePerSecond = 100_000.0

    /// The longest slow mode a room may set.
    public static let maxSlowModeSeconds = 3600
}

/// Bans and room settings, shared by every logic node of a deployment (kept beside the bus: it is
/// state the nodes share).
public protocol ModerationStore: Sendable {
    /// Keeps `user` from posting in `room` for `seconds`.
    func ban(user: String, room: RoomID, seconds: Int) async throws
    /// Lifts a ban.
    func unban(user: String, room: RoomID) async throws
    func settings(room: RoomID) async throws -> RoomSettings
    func update(_ settings: RoomSettings, room: RoomID) async throws
    /// Why `user` may not post in `room` now (a ban, a style the room keeps for its staff, slow
    /// mode, the room's rate), or nil; when nil, the post is counted for slow mode and the rate.
    ///
    /// - Parameter styled: the comment is styled beyond the basics and its author is not the
    ///   room's staff (refused where the room's `stylesFor` is `staff`).
    func admit(user: String, room: RoomID, styled: Bool) async throws -> DanmakuError?

    /// Undoes what an `admit` that answered nil recorded (the slow-mode mark, the room token):
    /// the post was then not stored, and its retry must be admitted as the first try would have.
    func refund(user: String, room: RoomID) async

    /// The room's settings when the store holds them in this process and can answer at once;
    /// nil when they must be fetched (`settings(room:)`).
    func localSettings(room: RoomID) -> RoomSettings?
}

extension ModerationStore {
    public func localSettings(room: RoomID) -> RoomSettings? { nil }
}

/// Moderation state of one process (the in-memory bus's companion).
public final class MemoryModeration: ModerationStore {
    private struct State {
        var bans: [RoomID: [String: Date]] = [:]
        var settings: [RoomID: RoomSettings] = [:]
        var lastPost: [RoomID: [String: Date]] = [:]
        var buckets: [RoomID: TokenBucket] = [:]
        var entries = 0
    }

    private let state = Mutex(State())
    /// Past this many bans and slow-mode records, expired ones are swept before adding more.
    private let sweepThreshold: Int

    public init(sweepThreshold: Int = 100_000) {
        self.sweepThreshold = sweepThreshold
    }

    public func ban(user: String, room: RoomID, seconds: Int) async throws {
        state.withLock { state in
            state.bans[room, default: [:]][user] = Date().addingTimeInterval(TimeInterval(seconds))
            Self.count(&state, sweepAbove: sweepThreshold)
        }
    }

    public func unban(user: String, room: RoomID) async throws {
        state.withLock { _ = $0.bans[room]?.removeValue(forKey: user) }
    }

    public func settings(room: RoomID) async throws -> RoomSettings {
        state.withLock { $0.settings[room] ?? RoomSettings() }
    }

    public func localSettings(room: RoomID) -> RoomSettings? {
        state.withLock { $0.settings[room] ?? RoomSettings() }
    }

    public func update(_ settings: RoomSettings, room: RoomID) async throws {
        state.withLock { state in
            state.settings[room] = settings == RoomSettings() ? nil : settings
            state.buckets[room] = nil  // a new rate starts with a full bucket
        }
    }

    public func admit(user: String, room: RoomID, styled: Bool) async throws -> DanmakuError? {
        let now = Date()
        return state.withLock { state in
            if let until = state.bans[room]?[user] {
                if until > now { return .banned(retryAfter: Self.seconds(until.timeIntervalSince(now))) }
                state.bans[room]?[user] = nil
            }
            guard let settings = state.settings[room] else { return nil }
            if styled, settings.stylesFor == .staff { return .styleNotAllowed }
            let slow = settings.slowModeSeconds
            if slow > 0, let last = state.lastPost[room]?[user], now.timeIntervalSince(last) < TimeInterval(slow) {
                return .slowMode(retryAfter: Self.seconds(TimeInterval(slow) - now.timeIntervalSince(last)))
            }
            // Checked before anything is recorded: a refused post counts for neither limit.
            if let limit = settings.rateLimit {
                let time = now.timeIntervalSince1970
                var bucket = state.buckets[room] ?? TokenBucket(limit: limit, now: time)
                guard bucket.available(limit: limit, now: time) >= 1 else {
                    state.buckets[room] = bucket
                    return .rateLimited(scope: "room", retryAfter: Self.seconds(bucket.secondsUntilToken(limit: limit)))
                }
                bucket.take()
                state.buckets[room] = bucket
            }
            if slow > 0 {
                state.lastPost[room, default: [:]][user] = now
                Self.count(&state, sweepAbove: sweepThreshold)
            }
            return nil
        }
    }

    public func refund(user: String, room: RoomID) async {
        state.withLock { state in
            state.lastPost[room]?[user] = nil
            if let limit = state.settings[room]?.rateLimit, var bucket = state.buckets[room] {
                bucket.giveBack(limit: limit)
                state.buckets[room] = bucket
            }
        }
    }

    private static func seconds(_ interval: TimeInterval) -> Int { max(1, Int(interval.rounded(.up))) }

    /// Counts an added entry; over the threshold, drops expired bans and stale slow-mode records.
    private static func count(_ state: inout State, sweepAbove threshold: Int) {
        state.entries += 1
        guard state.entries > threshold else { return }
        let now = Date()
        state.bans = state.bans.compactMapValues { bans in
            let live = bans.filter { $0.value > now }
            return live.isEmpty ? nil : live
        }
        state.lastPost = state.lastPost.compactMapValues { posts in
            let recent = posts.filter { now.timeIntervalSince($0.value) < TimeInterval(RoomSettings.maxSlowModeSeconds) }
            return recent.isEmpty ? nil : recent
        }
        state.entries = state.bans.values.reduce(0) { $0 + $1.count } + state.lastPost.values.reduce(0) { $0 + $1.count }
    }
}
