// Danmaku — a live-stream bullet-comment service.

import DanmakuCore
import NIOCore
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
    /// How many distinct viewers' reports hide a comment pending review (withdrawn from history
    /// and retracted from screens with reason `reported`); 0: reports never hide a comment.
    public var reportsToHide: Int

    /// Who may style comments in a room.
    public enum StyleAccess: String, Codable, Sendable {
        case everyone
        /// The room's streamer, its moderators and admins.
        case staff
    }

    public init(
        slowModeSeconds: Int = 0, rate: String? = nil, displayPerSecond: Int? = nil, stylesFor: StyleAccess = .everyone,
        mergeRepeats: Bool? = nil, reportsToHide: Int = 0
    ) {
        self.slowModeSeconds = slowModeSeconds
        self.rate = rate
        self.displayPerSecond = displayPerSecond
        self.stylesFor = stylesFor
        self.mergeRepeats = mergeRepeats
        self.reportsToHide = reportsToHide
    }

    private enum CodingKeys: String, CodingKey {
        case slowModeSeconds, rate, displayPerSecond, stylesFor, mergeRepeats, reportsToHide
    }

    /// The values `reportsToHide` may take: up to the most reports a comment keeps
    /// (`ReportBounds.reportsPerComment`), so a threshold can always be reached.
    public static let reportsToHideRange = 0...ReportBounds.reportsPerComment

    /// Any field may be left out: slow mode then is off, no room rate applies, there is no display
    /// budget, and everyone may style comments. Every field is checked as an update's is.
    public init(from decoder: any Decoder) throws {
        self = RoomSettings().merging(try Change(from: decoder))
    }

    /// The largest display budget a room may set (a budget that large is as good as none).
    public static let maxDisplayPerSecond = 10_000

    /// `rate` parsed; nil when unset or out of a room's bounds.
    public var rateLimit: RateLimit? { rate.flatMap(Self.roomRate(parsing:)) }

    /// The fastest rate and the largest burst a room may set (each bounds its own part).
    public static let maxRoomRate = RateLimit(perSecond: 100_000, burst: 1_000_000)

    /// The longest slow mode a room may set.
    public static let maxSlowModeSeconds = 3600

    /// `text` as a room's rate: `RATE/BURST` with a rate from `RateLimit.minPerSecond` to
    /// `maxRoomRate.perSecond` and a burst from 1 to `maxRoomRate.burst`; nil otherwise.
    public static func roomRate(parsing text: String) -> RateLimit? {
        RateLimit(parsing: text).flatMap { roomRate($0) }
    }

    /// `limit` when a room may have it (within `maxRoomRate`), else nil.
    public static func roomRate(_ limit: RateLimit) -> RateLimit? {
        limit.perSecond <= maxRoomRate.perSecond && limit.burst <= maxRoomRate.burst ? limit : nil
    }

    /// These settings with `change` applied: what it leaves out keeps its value.
    public func merging(_ change: Change) -> RoomSettings {
        var merged = self
        if let slow = change.slowModeSeconds { merged.slowModeSeconds = slow }
        if let rate = change.rate { merged.rate = rate?.description }
        if let display = change.displayPerSecond { merged.displayPerSecond = display }
        if let styles = change.stylesFor { merged.stylesFor = styles }
        if let merge = change.mergeRepeats { merged.mergeRepeats = merge }
        if let hide = change.reportsToHide { merged.reportsToHide = hide }
        return merged
    }

    /// An update of a room's settings (`PUT` or `PATCH …/settings`): a field left out (nil here)
    /// keeps its value; an explicit JSON `null` (`.some(nil)`) clears an optional one (`rate`,
    /// `displayPerSecond`, `mergeRepeats`). Decoding checks every value's range and answers
    /// `invalid_<field>` for anything out of it.
    public struct Change: Decodable, Sendable, Equatable {
        public var slowModeSeconds: Int?
        public var rate: RateLimit??
        public var displayPerSecond: Int??
        public var stylesFor: StyleAccess?
        public var mergeRepeats: Bool??
        public var reportsToHide: Int?

        public init(
            slowModeSeconds: Int? = nil, rate: RateLimit?? = nil, displayPerSecond: Int?? = nil, stylesFor: StyleAccess? = nil,
            mergeRepeats: Bool?? = nil, reportsToHide: Int? = nil
        ) {
            self.slowModeSeconds = slowModeSeconds
            self.rate = rate
            self.displayPerSecond = displayPerSecond
            self.stylesFor = stylesFor
            self.mergeRepeats = mergeRepeats
            self.reportsToHide = reportsToHide
        }

        /// A change that sets every field to `settings`' value (a replacement).
        public init(replacingWith settings: RoomSettings) {
            self.init(
                slowModeSeconds: settings.slowModeSeconds, rate: .some(settings.rateLimit), displayPerSecond: .some(settings.displayPerSecond),
                stylesFor: settings.stylesFor, mergeRepeats: .some(settings.mergeRepeats), reportsToHide: settings.reportsToHide)
        }

        /// Whether the change names no field.
        public var isEmpty: Bool { self == Change() }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            func present(_ key: CodingKeys) -> Bool { container.contains(key) }
            func null(_ key: CodingKeys) -> Bool { (try? container.decodeNil(forKey: key)) == true }
            if present(.slowModeSeconds) {
                slowModeSeconds = try ClientNumber.decode(container, .slowModeSeconds, in: 0...RoomSettings.maxSlowModeSeconds)
            }
            if present(.rate) {
                if null(.rate) {
                    rate = .some(nil)
                } else {
                    guard let text = try? container.decode(String.self, forKey: .rate), let limit = RoomSettings.roomRate(parsing: text) else {
                        throw DanmakuError.invalidField(
                            "rate", "rate must be RATE/BURST, e.g. 5/10, from \(RateLimit.minPerSecond)/1 to \(RoomSettings.maxRoomRate), or null for none")
                    }
                    rate = .some(limit)
                }
            }
            if present(.displayPerSecond) {
                displayPerSecond = null(.displayPerSecond)
                    ? .some(nil) : .some(try ClientNumber.decode(container, .displayPerSecond, in: 1...RoomSettings.maxDisplayPerSecond))
            }
            if present(.stylesFor) {
                guard let styles = try? container.decode(StyleAccess.self, forKey: .stylesFor) else {
                    throw DanmakuError.invalidField("stylesFor", "stylesFor must be \"everyone\" or \"staff\"")
                }
                stylesFor = styles
            }
            if present(.mergeRepeats) {
                if null(.mergeRepeats) {
                    mergeRepeats = .some(nil)
                } else {
                    guard let merge = try? container.decode(Bool.self, forKey: .mergeRepeats) else {
                        throw DanmakuError.invalidField("mergeRepeats", "mergeRepeats must be true, false or null")
                    }
                    mergeRepeats = .some(merge)
                }
            }
            if present(.reportsToHide) {
                reportsToHide = try ClientNumber.decode(container, .reportsToHide, in: RoomSettings.reportsToHideRange)
            }
        }
    }
}

/// How long a ban may be.
public enum BanLength {
    /// 1 s to 30 days.
    public static let secondsRange = 1...30 * 86_400
}

/// Bans and room settings, shared by every logic node of a deployment (kept beside the bus: it is
/// state the nodes share).
public protocol ModerationStore: Sendable {
    /// Keeps `user` from posting in `room` for `seconds`.
    func ban(user: String, room: RoomID, seconds: Int) async throws
    /// Lifts a ban.
    func unban(user: String, room: RoomID) async throws
    func settings(room: RoomID) async throws -> RoomSettings
    /// Applies `change` to the room's settings (what it leaves out keeps its value) and answers
    /// the settings that result. A new rate starts with a full bucket.
    func update(_ change: RoomSettings.Change, room: RoomID) async throws -> RoomSettings
    /// Why `user` may not post in `room` now (a ban, a style the room keeps for its staff, slow
    /// mode, the room's rate), or nil; when nil, the post is counted for slow mode and the rate.
    ///
    /// - Parameter styled: the comment is styled beyond the basics and its author is not the
    ///   room's staff (refused where the room's `stylesFor` is `staff`).
    func admit(user: String, room: RoomID, styled: Bool) async throws -> DanmakuError?

    /// The refusal (`banned`) when `user` is banned from `room` now, or nil; records nothing.
    func ban(of user: String, room: RoomID) async throws -> DanmakuError?

    /// Undoes what an `admit` that answered nil recorded (the slow-mode mark, the room token):
    /// the post was then not stored, and its retry must be admitted as the first try would have.
    func refund(user: String, room: RoomID) async

    /// The room's settings when the store holds them in this process and can answer at once;
    /// nil when they must be fetched (`settings(room:)`).
    func localSettings(room: RoomID) -> RoomSettings?
}

/// Moderation kept in the same store as a comment log, which checks a post and appends it in one
/// step: on Redis one script call a post, not two (the admission's, then the append's).
public protocol AppendingModeration: ModerationStore {
    /// Whether this moderation's state is kept with `log` (the same Redis), so that one step can
    /// check a post against it and append the post to `log`.
    func isKept(with log: any CommentLog) -> Bool

    /// `admit`, and when it admits the post, `CommentLog.append` of `unnumbered` in the same step:
    /// the refusal (nothing recorded), or the stored comment. Throws as `append` does
    /// (`AppendOutcomeUnknown` when the step may have run).
    func admitAndAppend(user: String, room: RoomID, styled: Bool, unnumbered: ByteBuffer) async throws -> Result<EncodedComment, DanmakuError>
}

/// Moderation whose one step (`AppendingModeration.admitAndAppend`) is a single call whose answer
/// a future brings (Redis): a post can then wait on its connection's loop for that answer, with no
/// task and no hop to the concurrency pool (`LoopPosting`).
public protocol LoopAppendingModeration: AppendingModeration {
    /// Whether the step is one call whose answer is the whole outcome. Not so when writes wait
    /// for replicas (`--bus-min-replicas`): a comment they did not confirm is withdrawn first,
    /// which is work of its own, and such posts take `admitAndAppend`.
    var appendsInOneCall: Bool { get }

    /// `admitAndAppend` as a future, failed as it throws; only when `appendsInOneCall`.
    func admitAndAppendOnLoop(user: String, room: RoomID, styled: Bool, unnumbered: ByteBuffer) -> EventLoopFuture<Result<EncodedComment, DanmakuError>>
}

extension ModerationStore {
    public func localSettings(room: RoomID) -> RoomSettings? { nil }

    /// Replaces every setting of the room with `settings`.
    public func update(_ settings: RoomSettings, room: RoomID) async throws {
        _ = try await update(RoomSettings.Change(replacingWith: settings), room: room)
    }
}

/// Moderation state of one process (the in-memory bus's companion).
public final class MemoryModeration: ModerationStore, ImmediateModeration {
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

    public func update(_ change: RoomSettings.Change, room: RoomID) async throws -> RoomSettings {
        state.withLock { state in
            let settings = (state.settings[room] ?? RoomSettings()).merging(change)
            state.settings[room] = settings == RoomSettings() ? nil : settings
            if change.rate != nil { state.buckets[room] = nil }  // a new rate starts with a full bucket
            return settings
        }
    }

    public func ban(of user: String, room: RoomID) async throws -> DanmakuError? {
        let now = Date()
        return state.withLock { state in
            guard let until = state.bans[room]?[user], until > now else { return nil }
            return .banned(retryAfter: RetryAfter.seconds(until.timeIntervalSince(now)))
        }
    }

    public func admit(user: String, room: RoomID, styled: Bool) async throws -> DanmakuError? {
        admitNow(user: user, room: room, styled: styled)
    }

    public func admitNow(user: String, room: RoomID, styled: Bool) -> DanmakuError? {
        let now = Date()
        return state.withLock { state in
            if let until = state.bans[room]?[user] {
                if until > now { return .banned(retryAfter: RetryAfter.seconds(until.timeIntervalSince(now))) }
                state.bans[room]?[user] = nil
            }
            guard let settings = state.settings[room] else { return nil }
            if styled, settings.stylesFor == .staff { return .styleNotAllowed }
            let slow = settings.slowModeSeconds
            if slow > 0, let last = state.lastPost[room]?[user], now.timeIntervalSince(last) < TimeInterval(slow) {
                return .slowMode(retryAfter: RetryAfter.seconds(TimeInterval(slow) - now.timeIntervalSince(last)))
            }
            // Checked before anything is recorded: a refused post counts for neither limit.
            if let limit = settings.rateLimit {
                let time = now.timeIntervalSince1970
                var bucket = state.buckets[room] ?? TokenBucket(limit: limit, now: time)
                guard bucket.available(limit: limit, now: time) >= 1 else {
                    state.buckets[room] = bucket
                    return .rateLimited(scope: "room", retryAfter: RetryAfter.seconds(bucket.secondsUntilToken(limit: limit)))
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
