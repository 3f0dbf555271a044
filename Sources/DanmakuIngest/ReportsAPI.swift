// Danmaku — a live-stream bullet-comment service.

import DanmakuBus
import DanmakuCore
import DanmakuLogic
import Foundation
import NIOCore

/// The report endpoints of rooms and videos alike: a viewer reports a comment
/// (`POST …/comments/{id}/reports`), staff of the room read the queue (`GET …/reports`) and act
/// on one comment of it (`POST …/reports/{id}`). Answers are JSON.
struct ReportsAPI: Sendable {
    let reports: CommentReports

    /// The most comments one read of a queue lists unless `?limit=` says.
    static let defaultLimit = 100

    /// A report's answer: the comment's count of distinct reporters after it, and whether the
    /// comment is now hidden pending review.
    struct Filed: Encodable {
        var id: String
        var seq: UInt64
        var reporters: Int
        var hidden: Bool
    }

    /// A queue: the room's or the video's reported comments, most reported first.
    struct Queue: Encodable {
        var room: String?
        var video: String?
        var comments: [Entry]
    }

    /// One reported comment of a queue: the comment as first reported, and its reports.
    struct Entry: Encodable {
        var id: String
        var seq: UInt64
        var user: CommentAuthor
        var text: String
        var offsetMs: Int64?
        var reporters: Int
        var hidden: Bool
        var firstReportedAt: Int64
        var reports: [CommentReport]

        init(_ entry: ReportEntry) {
            (id, seq, user, text, offsetMs) = (entry.comment.id, entry.comment.seq, entry.comment.user, entry.comment.text, entry.comment.offsetMs)
            (reporters, hidden, firstReportedAt, reports) = (entry.reporters, entry.hidden, entry.firstReportedAt, entry.reports)
        }
    }

    /// Staff's action on a reported comment: `{"action": "dismiss"|"remove"|"ban", "seconds": N}`
    /// (`seconds`, for `ban` only, defaults to a day). Checked as it is decoded.
    struct ActionRequest: Decodable {
        var action: ReportAction
        var seconds: Int

        private enum CodingKeys: String, CodingKey { case action, seconds }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            guard let action = try? container.decode(ReportAction.self, forKey: .action) else {
                throw DanmakuError.invalidField("action", "action must be one of " + ReportAction.allCases.map(\.rawValue).joined(separator: ", "))
            }
            self.action = action
            seconds = container.contains(.seconds)
                ? try ClientNumber.decode(container, .seconds, in: BanLength.secondsRange) : CommentReports.defaultBanSeconds
        }
    }

    struct Resolved: Encodable {
        var id: String
        var action: ReportAction
        var removed: Bool
        var banned: String?
    }

    func report(_ queue: ReportQueue, id: String, body: ByteBuffer, token: String?, clientAddress: String, on loop: any EventLoop) async -> APIAnswer {
        let request: ReportRequest
        switch Self.decode(ReportRequest.self, body, expected: #"{"reason": "spam", "text": "...", "seq": N}"#) {
        case .success(let value): request = value
        case .failure(let error): return .failure(error)
        }
        let filed: Result<FiledReport, DanmakuError>
        switch queue {
        case .room(let room): filed = await reports.reportLive(room: room, id: id, request: request, token: token, clientAddress: clientAddress, on: loop)
        case .video(let video): filed = await reports.reportVideo(video: video, id: id, request: request, token: token, clientAddress: clientAddress)
        }
        return filed.map { .json(RoomsAPI.encode(Filed(id: $0.id, seq: $0.seq, reporters: $0.reporters, hidden: $0.hidden))) }
    }

    func queue(_ queue: ReportQueue, target: RequestTarget, token: String?) async -> APIAnswer {
        let limit: Int
        switch target.integer("limit", in: 1...CommentReports.maxListed, default: Self.defaultLimit) {
        case .success(let value): limit = value
        case .failure(let error): return .failure(error)
        }
        return await reports.queue(queue, limit: limit, token: token).map { entries in
            let listed = Queue(
                room: { if case .room(let room) = queue { room.value } else { nil } }(),
                video: { if case .video(let video) = queue { video.value } else { nil } }(),
                comments: entries.map(Entry.init))
            return .json(RoomsAPI.encode(listed))
        }
    }

    func act(_ queue: ReportQueue, id: String, body: ByteBuffer, token: String?) async -> APIAnswer {
        let request: ActionRequest
        switch Self.decode(ActionRequest.self, body, expected: #"{"action": "dismiss" or "remove" or "ban", "seconds": N}"#) {
        case .success(let value): request = value
        case .failure(let error): return .failure(error)
        }
        return await reports.act(request.action, on: id, in: queue, banSeconds: request.seconds, token: token).map {
            .json(RoomsAPI.encode(Resolved(id: $0.id, action: $0.action, removed: $0.removed, banned: $0.banned)))
        }
    }

    /// `body` as a `T`: a body of another shape is `invalid_json` naming the `expected` one, a
    /// field `T` checks as it decodes and finds out of range its own `invalid_<field>`.
    private static func decode<T: Decodable>(_ type: T.Type, _ body: ByteBuffer, expected: String) -> Result<T, DanmakuError> {
        do {
            return .success(try JSONDecoder().decode(T.self, from: Data(body.readableBytesView)))
        } catch let error as DanmakuError {
            return .failure(error)
        } catch {
            return .failure(.invalidJSON("expected \(expected)"))
        }
    }
}
