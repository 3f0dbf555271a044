// Danmaku — a live-stream bullet-comment service.

import DanmakuBus
import DanmakuCore
import DanmakuLogic
import Foundation
import NIOCore

/// The moderation endpoints: bans, room settings and the word list. Each needs a token that may
/// moderate the room (see `DanmakuClaims.mayModerate`); answers are JSON.
struct ModerationAPI: Sendable {
    /// Retractions, the word list and who may moderate.
    let service: CommentService
    /// Bans and room settings.
    let moderation: any ModerationStore

    /// The longest ban: 30 days.
    static let maxBanSeconds = 30 * 86_400
    /// The most words a list may hold.
    static let maxWords = 100_000

    struct BanRequest: Decodable {
        var user: String
        var seconds: Int
    }

    struct BanAnswer: Encodable {
        var room: String
        var user: String
        var bannedSeconds: Int
    }

    struct WordsRequest: Decodable {
        var words: [String]
    }

    struct WordsAnswer: Encodable {
        var words: Int
    }

    /// A 200 body, or the error to answer.
    typealias Answer = Result<ByteBuffer, DanmakuError>

    func ban(room: RoomID, token: String?, body: ByteBuffer) async -> Answer {
        await authorized(token: token, room: room) {
            let request = try decode(BanRequest.self, body, expected: #"{"user": "...", "seconds": N}"#)
            guard !request.user.isEmpty, request.user.utf8.count <= 256 else { return .failure(.invalidField("user", "user must be 1 to 256 bytes")) }
            guard (1...Self.maxBanSeconds).contains(request.seconds) else {
                return .failure(.invalidField("seconds", "seconds must be between 1 and \(Self.maxBanSeconds)"))
            }
            try await moderation.ban(user: request.user, room: room, seconds: request.seconds)
            return encode(BanAnswer(room: room.value, user: request.user, bannedSeconds: request.seconds))
        }
    }

    func unban(room: RoomID, user: String, token: String?) async -> Answer {
        await authorized(token: token, room: room) {
            try await moderation.unban(user: user, room: room)
            return encode(BanAnswer(room: room.value, user: user, bannedSeconds: 0))
        }
    }

    struct RetractAnswer: Encodable {
        var room: String
        var id: String
        var seq: UInt64
    }

    /// A moderator takes any comment back; anyone else only their own, within the recall window
    /// (`CommentService.recall`).
    func retract(room: RoomID, id: String, token: String?, clientAddress: String, on eventLoop: any EventLoop) async -> Answer {
        let result: Result<UInt64, DanmakuError>
        switch await service.moderator(token: token, room: room) {
        case .success:
            result = await service.retract(room: room, id: id)
        case .failure(let refusal) where refusal.status == 401:
            return .failure(refusal)
        case .failure:
            result = await service.recall(room: room, id: id, token: token, clientAddress: clientAddress, on: eventLoop)
        }
        switch result {
        case .success(let seq): return encode(RetractAnswer(room: room.value, id: id, seq: seq))
        case .failure(let error): return .failure(error)
        }
    }

    func settings(room: RoomID) async -> Answer {
        do {
            return encode(try await moderation.settings(room: room))
        } catch {
            return .failure(.busUnavailable(String(describing: error)))
        }
    }

    func updateSettings(room: RoomID, token: String?, body: ByteBuffer) async -> Answer {
        await authorized(token: token, room: room) {
            var settings = try decode(
                RoomSettings.self, body, expected: #"{"slowModeSeconds": N, "rate": "RATE/BURST", "displayPerSecond": N, "stylesFor": "everyone" or "staff", "mergeRepeats": true or false}"#)
            if let display = settings.displayPerSecond, !(1...RoomSettings.maxDisplayPerSecond).contains(display) {
                return .failure(.invalidField(
                    "displayPerSecond", "displayPerSecond must be between 1 and \(RoomSettings.maxDisplayPerSecond), or absent for no budget"))
            }
            guard (0...RoomSettings.maxSlowModeSeconds).contains(settings.slowModeSeconds) else {
                return .failure(.invalidField("slowModeSeconds", "slowModeSeconds must be between 0 and \(RoomSettings.maxSlowModeSeconds)"))
            }
            if let rate = settings.rate {
                guard let limit = RateLimit(parsing: rate), limit.perSecond <= RoomSettings.maxRatePerSecond else {
                    return .failure(.invalidField("rate", "rate must look like RATE/BURST, e.g. 5/10, at most \(Int(RoomSettings.maxRatePerSecond))/s"))
                }
                settings.rate = limit.description
            }
            try await moderation.update(settings, room: room)
            return encode(settings)
        }
    }

    /// Replaces this node's blocked-word list (each node has its own; see docs/PROTOCOL.md).
    func replaceWords(token: String?, body: ByteBuffer) async -> Answer {
        await authorized(token: token, room: nil) {
            let request = try decode(WordsRequest.self, body, expected: #"{"words": ["..."]}"#)
            guard request.words.count <= Self.maxWords else {
                return .failure(.invalidField("words", "at most \(Self.maxWords) words"))
            }
            service.replaceWords(request.words)
            return encode(WordsAnswer(words: request.words.count))
        }
    }

    /// Runs `action` when `token` may moderate `room`; malformed bodies are 400, store failures 503.
    func authorized(token: String?, room: RoomID?, _ action: () async throws -> Answer) async -> Answer {
        if case .failure(let error) = await service.moderator(token: token, room: room) { return .failure(error) }
        do {
            return try await action()
        } catch let error as DanmakuError {
            return .failure(error)
        } catch {
            return .failure(.busUnavailable(String(describing: error)))
        }
    }

    /// `body` as a `T`; a body of another shape is `invalid_json` naming the `expected` one.
    private func decode<T: Decodable>(_ type: T.Type, _ body: ByteBuffer, expected: String) throws -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(body.readableBytesView))
        } catch {
            throw DanmakuError.invalidJSON("expected \(expected)")
        }
    }

    private func encode(_ value: some Encodable) -> Answer {
        .success((try? WireCodec.encode(value)) ?? ByteBuffer(string: "{}"))
    }
}
