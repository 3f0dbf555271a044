// Danmaku — a live-stream bullet-comment service.

import DanmakuBus
import DanmakuCore
import DanmakuLogic
import Foundation
import NIOCore

/// The moderation endpoints: bans, room settings and the word list. Each needs a token that may
/// moderate the room (see `DanmakuClaims.mayModerate`); answers are JSON.
struct ModerationAPI: Sendable {
    /// Retractions, recall and who may moderate.
    let actions: ModerationActions
    /// The blocked-word list in force.
    let words: BlockedWords
    /// Bans and room settings.
    let moderation: any ModerationStore
    /// Where a ban is noted against the user's standing in the room (`AuthorRecords`).
    let records: AuthorRecords

    /// The most words a list may hold.
    static let maxWords = 100_000

    struct BanRequest: Decodable {
        var user: String
        /// Checked as it is decoded: 1 s to 30 days (`BanLength`), else `invalid_seconds`.
        var seconds: Int

        private enum CodingKeys: String, CodingKey { case user, seconds }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            user = try container.decode(String.self, forKey: .user)
            seconds = try ClientNumber.decode(container, .seconds, in: BanLength.secondsRange)
        }
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
            try await moderation.ban(user: request.user, room: room, seconds: request.seconds)
            records.noteBan(of: request.user, room: room, until: Date().timeIntervalSince1970 + Double(request.seconds))
            return encode(BanAnswer(room: room.value, user: request.user, bannedSeconds: request.seconds))
        }
    }

    func unban(room: RoomID, user: String, token: String?) async -> Answer {
        await authorized(token: token, room: room) {
            try await moderation.unban(user: user, room: room)
            records.noteUnban(of: user, room: room)
            return encode(BanAnswer(room: room.value, user: user, bannedSeconds: 0))
        }
    }

    struct RetractAnswer: Encodable {
        var room: String
        var id: String
        var seq: UInt64
    }

    /// A moderator takes any comment back; anyone else only their own, within the recall window
    /// (`ModerationActions.recall`).
    func retract(room: RoomID, id: String, token: String?, clientAddress: String, on eventLoop: any EventLoop) async -> Answer {
        let result: Result<UInt64, DanmakuError>
        switch await actions.moderator(token: token, room: room) {
        case .success:
            result = await actions.retract(room: room, id: id)
        case .failure(let refusal) where refusal.status == 401:
            return .failure(refusal)
        case .failure:
            result = await actions.recall(room: room, id: id, token: token, clientAddress: clientAddress, on: eventLoop)
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

    /// `PUT` or `PATCH …/settings`: merges the body into the room's settings (a field left out
    /// keeps its value, a `null` clears an optional one) and answers the settings that result.
    func updateSettings(room: RoomID, token: String?, body: ByteBuffer) async -> Answer {
        await authorized(token: token, room: room) {
            let change = try decode(
                RoomSettings.Change.self, body,
                expected: #"{"slowModeSeconds": N, "rate": "RATE/BURST", "displayPerSecond": N, "stylesFor": "everyone" or "staff", "mergeRepeats": true or false, "reportsToHide": N}"#)
            return encode(try await moderation.update(change, room: room))
        }
    }

    /// Replaces this node's blocked-word list (each node has its own; see docs/PROTOCOL.md).
    func replaceWords(token: String?, body: ByteBuffer) async -> Answer {
        await authorized(token: token, room: nil) {
            let request = try decode(WordsRequest.self, body, expected: #"{"words": ["..."]}"#)
            guard request.words.count <= Self.maxWords else {
                return .failure(.invalidField("words", "at most \(Self.maxWords) words"))
            }
            words.replace(with: request.words)
            return encode(WordsAnswer(words: request.words.count))
        }
    }

    /// Runs `action` when `token` may moderate `room`; malformed bodies are 400, store failures 503.
    func authorized(token: String?, room: RoomID?, _ action: () async throws -> Answer) async -> Answer {
        if case .failure(let error) = await actions.moderator(token: token, room: room) { return .failure(error) }
        do {
            return try await action()
        } catch let error as DanmakuError {
            return .failure(error)
        } catch {
            return .failure(.busUnavailable(String(describing: error)))
        }
    }

    /// `body` as a `T`; a body of another shape is `invalid_json` naming the `expected` one, a
    /// field that `T` checks as it decodes and finds out of range its own `invalid_<field>`.
    private func decode<T: Decodable>(_ type: T.Type, _ body: ByteBuffer, expected: String) throws -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(body.readableBytesView))
        } catch let error as DanmakuError {
            throw error
        } catch {
            throw DanmakuError.invalidJSON("expected \(expected)")
        }
    }

    private func encode(_ value: some Encodable) -> Answer {
        .success((try? WireCodec.encode(value)) ?? ByteBuffer(string: "{}"))
    }
}
