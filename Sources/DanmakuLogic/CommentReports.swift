// Danmaku — a live-stream bullet-comment service.

import DanmakuBus
import DanmakuCore
import Foundation
import NIOCore

/// A viewer's report of a comment, as its body arrives (`POST …/comments/{id}/reports`). Decoding
/// checks every field and answers `invalid_<field>` for anything out of bounds.
public struct ReportRequest: Decodable, Sendable, Equatable {
    public var reason: ReportReason
    /// Optional words from the viewer, at most `ReportBounds.textBytes` of UTF-8.
    public var text: String?
    /// A live comment's seq, when the client has it: the comment is then found with a read of one
    /// entry rather than a search of history (which is charged to the address's read budget).
    public var seq: UInt64?

    /// The seqs a report may name.
    public static let seqRange: ClosedRange<UInt64> = 1...ClientNumber.maxSeq

    public init(reason: ReportReason, text: String? = nil, seq: UInt64? = nil) {
        self.reason = reason
        self.text = text
        self.seq = seq
    }

    private enum CodingKeys: String, CodingKey { case reason, text, seq }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        guard let reason = try? container.decode(ReportReason.self, forKey: .reason) else {
            throw DanmakuError.invalidField("reason", "reason must be one of " + ReportReason.allCases.map(\.rawValue).joined(separator: ", "))
        }
        self.reason = reason
        if container.contains(.text), !((try? container.decodeNil(forKey: .text)) ?? false) {
            guard let text = try? container.decode(String.self, forKey: .text), text.utf8.count <= ReportBounds.textBytes else {
                throw DanmakuError.invalidField("text", "text must be a string of at most \(ReportBounds.textBytes) bytes")
            }
            self.text = text.isEmpty ? nil : text
        }
        if container.contains(.seq), !((try? container.decodeNil(forKey: .seq)) ?? false) {
            guard let seq = try? container.decode(UInt64.self, forKey: .seq), Self.seqRange.contains(seq) else {
                throw ClientNumber.refusal("seq", Self.seqRange)
            }
            self.seq = seq
        }
    }
}

/// What staff do with a reported comment, in one step.
public enum ReportAction: String, Codable, Sendable, CaseIterable {
    /// Close its reports; the comment stays as it is (hidden, if reports hid it).
    case dismiss
    /// Take it off every screen and out of history (the moderator's retraction; for a video,
    /// out of the pool), and close its reports.
    case remove
    /// Ban its author from the room, remove it, and close its reports.
    case ban
}

/// What filing a report did: the comment's count, and whether it is hidden now.
public struct FiledReport: Sendable, Equatable {
    public var id: String
    public var seq: UInt64
    public var reporters: Int
    public var hidden: Bool
}

/// What staff's action did.
public struct ResolvedReport: Sendable, Equatable {
    public var id: String
    public var action: ReportAction
    /// Whether this action took the comment out (false when it was gone already, or dismissed).
    public var removed: Bool
    /// The author banned, for `ban`.
    public var banned: String?
}

/// Reports of comments: viewers file them (once each per comment, at their own rate), staff of the
/// room read the queue and act on it, and a comment reported by as many distinct users as the
/// room's `reportsToHide` is hidden pending review.
public struct CommentReports: Sendable {
    let authenticator: any PostAuthenticator
    /// Each reporter's rate (`LogicConfiguration.reportLimit`).
    let limiter: RateLimiter
    let log: any CommentLog
    /// A report without a seq searches history for the comment: an expensive read.
    let reads: ReadBudget
    let videos: any VideoPoolStore
    let reports: any ReportStore
    /// Bans (the `ban` action) and the rooms' `reportsToHide`.
    let moderation: any ModerationStore
    /// Where a comment taken out and a ban are noted against its author (`AuthorRecords`).
    let records: AuthorRecords
    let publisher: RecordPublisher

    /// How long the `ban` action bans for, unless staff say.
    public static let defaultBanSeconds = 86_400
    /// The most comments one read of a queue lists.
    public static let maxListed = ReportBounds.commentsPerQueue

    init(
        authenticator: any PostAuthenticator, limit: RateLimit, log: any CommentLog, reads: ReadBudget, videos: any VideoPoolStore,
        reports: any ReportStore, moderation: any ModerationStore, records: AuthorRecords, publisher: RecordPublisher
    ) {
        self.authenticator = authenticator
        self.limiter = RateLimiter(limits: [.reports: limit])
        self.log = log
        self.reads = reads
        self.videos = videos
        self.reports = reports
        self.moderation = moderation
        self.records = records
        self.publisher = publisher
    }

    /// Files a report of live comment `id` of `room` from the user `token` stands for.
    public func reportLive(
        room: RoomID, id: String, request: ReportRequest, token: String?, clientAddress: String, on eventLoop: any EventLoop
    ) async -> Result<FiledReport, DanmakuError> {
        guard EncodedComment.isPlausibleID(id) else { return .failure(.notFound) }
        return await file(request, id: id, queue: .room(room), token: token, clientAddress: clientAddress) {
            let found: EncodedComment?
            if let seq = request.seq {
                let snapshot = try await log.snapshot(room: room, since: seq - 1, limit: 1, on: eventLoop).get()
                found = snapshot.comments.first.flatMap { $0.seq == seq && $0.hasID(id) ? $0 : nil }
            } else {
                // A search by an id that is not there walks the room's whole history.
                if let spent = reads.admit(clientAddress: clientAddress) { throw spent }
                found = try await log.comment(room: room, id: id)
            }
            guard let found, let comment = try? found.decoded() else { return nil }
            return ReportedComment(id: comment.id, seq: comment.seq, user: comment.user, text: comment.text)
        }
    }

    /// Files a report of comment `id` of `video`'s pool.
    public func reportVideo(video: VideoID, id: String, request: ReportRequest, token: String?, clientAddress: String) async -> Result<FiledReport, DanmakuError> {
        guard EncodedComment.isPlausibleID(id) else { return .failure(.notFound) }
        return await file(request, id: id, queue: .video(video), token: token, clientAddress: clientAddress) {
            try await videos.comment(video: video, id: id).map {
                ReportedComment(id: $0.id, seq: $0.seq, user: $0.user, text: $0.text, offsetMs: $0.offsetMs)
            }
        }
    }

    /// Authenticates and charges the reporter, finds comment `id` (`find`: nil when history or the
    /// pool has none; then the queue's copy, so a hidden comment stays reportable), files the
    /// report, and hides the comment once enough distinct users reported it.
    private func file(
        _ request: ReportRequest, id: String, queue: ReportQueue, token: String?, clientAddress: String, find: () async throws -> ReportedComment?
    ) async -> Result<FiledReport, DanmakuError> {
        let reporter: CommentAuthor
        switch await authenticator.author(token: token, room: queue.scope, clientAddress: clientAddress) {
        case .success(let who): reporter = who
        case .failure(let error): return .failure(error)
        }
        if let limited = limiter.acquire(keys: [.reports: reporter.id], now: Date().timeIntervalSince1970) { return .failure(limited) }
        do {
            // A banned user's reports would still hide comments (`reportsToHide`).
            if let banned = try await moderation.ban(of: reporter.id, room: queue.scope) { return .failure(banned) }
            var found = try await find()
            if found == nil { found = try await reports.entry(id: id, in: queue)?.comment }
            guard let comment = found else { return .failure(.notFound) }
            guard comment.user.id != reporter.id else { return .failure(.ownComment) }
            let report = CommentReport(reason: request.reason, text: request.text, ts: currentTimeMillis())
            switch try await reports.file(report, by: reporter.id, of: comment, in: queue) {
            case .alreadyReported:
                return .failure(.alreadyReported)
            case .queueFull:
                return .failure(.reportQueueFull(max: ReportBounds.commentsPerQueue))
            case .counted(let reporters, var hidden):
                // Staff's comments (their author has a role) are queued for review, never hidden by viewers.
                if !hidden, comment.user.role == nil {
                    var settings = moderation.localSettings(room: queue.scope)
                    if settings == nil { settings = try await moderation.settings(room: queue.scope) }
                    let threshold = settings?.reportsToHide ?? 0
                    if threshold > 0, reporters >= threshold {
                        // Not on the author's record until staff confirm it (remove or ban): reports
                        // alone, from accounts anyone can make, must not lower a victim's weight.
                        hidden = try await hide(comment.id, in: queue)
                    }
                }
                return .success(FiledReport(id: comment.id, seq: comment.seq, reporters: reporters, hidden: hidden))
            }
        } catch let error as DanmakuError {
            return .failure(error)
        } catch {
            return .failure(.busUnavailable(String(describing: error)))
        }
    }

    /// Takes the comment off screens and out of history (reason `reported`), then marks it hidden
    /// in the queue: in that order, so a failure between the two is retried by the next report.
    private func hide(_ id: String, in queue: ReportQueue) async throws -> Bool {
        try await takeOut(id, in: queue, reason: .reported)
        return try await reports.markHidden(id: id, in: queue)
    }

    /// Takes comment `id` out: a live comment by the retraction path, a video's out of the pool.
    /// Whether it was there to take out (a comment already gone is no failure).
    @discardableResult
    private func takeOut(_ id: String, in queue: ReportQueue, reason: RetractReason?) async throws -> Bool {
        switch queue {
        case .room(let room):
            switch await publisher.retract(room: room, id: id, reason: reason) {
            case .success: return true
            case .failure(let error) where error.code == DanmakuError.notFound.code: return false
            case .failure(let error): throw error
            }
        case .video(let video):
            return try await videos.remove(video: video, id: id)
        }
    }

    /// The queue's first `limit` comments, most reported first, for the room's staff.
    public func queue(_ queue: ReportQueue, limit: Int, token: String?) async -> Result<[ReportEntry], DanmakuError> {
        if case .failure(let refusal) = await authenticator.moderator(token: token, room: queue.scope) { return .failure(refusal) }
        do {
            return .success(try await reports.entries(in: queue, limit: min(max(limit, 1), Self.maxListed)))
        } catch {
            return .failure(.busUnavailable(String(describing: error)))
        }
    }

    /// Staff of the room act on reported comment `id`: dismiss, remove or ban (for `banSeconds`,
    /// `BanLength.secondsRange`), and the comment leaves the queue. `not_found` when the queue
    /// does not hold it (never reported, or acted on already).
    public func act(
        _ action: ReportAction, on id: String, in queue: ReportQueue, banSeconds: Int = defaultBanSeconds, token: String?
    ) async -> Result<ResolvedReport, DanmakuError> {
        if case .failure(let refusal) = await authenticator.moderator(token: token, room: queue.scope) { return .failure(refusal) }
        guard BanLength.secondsRange.contains(banSeconds) else { return .failure(ClientNumber.refusal("seconds", BanLength.secondsRange)) }
        do {
            guard let entry = try await reports.entry(id: id, in: queue) else { return .failure(.notFound) }
            var resolved = ResolvedReport(id: id, action: action, removed: false, banned: nil)
            let author = entry.comment.user.id
            let now = Date().timeIntervalSince1970
            if action == .ban {
                try await moderation.ban(user: author, room: queue.scope, seconds: banSeconds)
                records.noteBan(of: author, room: queue.scope, until: now + Double(banSeconds))
                resolved.banned = author
            }
            if action != .dismiss { resolved.removed = try await takeOut(id, in: queue, reason: nil) }
            // Staff confirmed the reports (removed now, or already hidden by them and not dismissed).
            if action != .dismiss, resolved.removed || entry.hidden { records.noteRemoval(of: author, room: queue.scope, now: now) }
            // Acted on before it leaves the queue: a failure above leaves it there to act on again.
            _ = try await reports.resolve(id: id, in: queue)
            return .success(resolved)
        } catch let error as DanmakuError {
            return .failure(error)
        } catch {
            return .failure(.busUnavailable(String(describing: error)))
        }
    }
}
