// Danmaku — a live-stream bullet-comment service.

import DanmakuCore
import Foundation
import NIOCore

/// The viewer's own messages: `join`, `leave` and `comment`, each answered on the socket (an
/// error never closes it).
extension ViewerHandler {
    /// The fields every viewer message may carry besides its own.
    private struct Envelope: Decodable {
        var type: String
        /// Which room a `join`, `leave` or `comment` is about (a comment's default: the URL's room).
        var room: String?
        /// Resume point of a `join`, range-checked here: a number out of range, negative, in
        /// exponent form or of another type is `invalid_since`.
        var since: UInt64?
        /// The epoch `since` belongs to, range-checked like it.
        var epoch: Int64?
        /// A `comment`'s idempotency key as sent (checked by `IdempotencyKey.parse` when posting);
        /// one that is not a string is `invalid_idempotency_key`, as a bad header is.
        var idempotencyKey: String?

        private enum CodingKeys: String, CodingKey { case type, room, since, epoch, idempotencyKey }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            type = try container.decode(String.self, forKey: .type)
            room = try container.decodeIfPresent(String.self, forKey: .room)
            do {
                since = try container.decodeIfPresent(UInt64.self, forKey: .since)
            } catch {
                throw ClientNumber.refusal("since", ClientNumber.seqRange)
            }
            if let since { _ = try ClientNumber.check(since, name: "since", in: ClientNumber.seqRange).get() }
            do {
                epoch = try container.decodeIfPresent(Int64.self, forKey: .epoch)
            } catch {
                throw ClientNumber.refusal("epoch", ClientNumber.epochRange)
            }
            if let epoch, epoch < 0 { throw ClientNumber.refusal("epoch", ClientNumber.epochRange) }
            do {
                idempotencyKey = try container.decodeIfPresent(String.self, forKey: .idempotencyKey)
            } catch {
                throw DanmakuError.invalidIdempotencyKey(maxBytes: IdempotencyKey.maxBytes)
            }
        }
    }

    func handleMessage(_ bytes: [UInt8], context: ChannelHandlerContext) {
        let envelope: Envelope
        do {
            envelope = try JSONDecoder().decode(Envelope.self, from: Data(bytes))
        } catch let error as DanmakuError {
            return send(ViewerMessage.error(error))
        } catch DecodingError.typeMismatch(_, let failure) where failure.codingPath.first?.stringValue != "type" {
            let field = failure.codingPath.first?.stringValue ?? "?"
            return send(ViewerMessage.error(.invalidField(field, field == "since" ? "must be a non-negative integer" : "must be a string")))
        } catch {
            return send(ViewerMessage.error(.invalidJSON("expected an object with a string field 'type'")))
        }
        // A post's answers name its key (when it is one): they come as posts complete, in any order.
        let key: IdempotencyKey?
        switch envelope.type == "comment" ? IdempotencyKey.parse(envelope.idempotencyKey) : .success(nil) {
        case .success(let value): key = value
        case .failure(let error): return send(ViewerMessage.error(error))
        }
        var room = firstRoom
        if let name = envelope.room {
            guard let named = RoomID(name) else { return send(ViewerMessage.error(.invalidRoom, idempotencyKey: key?.value)) }
            room = named
        }
        switch envelope.type {
        case "comment":
            guard envelope.room == nil || subscriptions[room] != nil else {
                return send(ViewerMessage.error(.notWatching(room.value), idempotencyKey: key?.value))
            }
            post(bytes, room: room, idempotencyKey: key, context: context)
        case "join":
            guard envelope.room != nil else { return send(ViewerMessage.error(.invalidField("room", "a room is required"))) }
            guard subscriptions[room] == nil else { return send(ViewerMessage.error(.alreadyWatching(room.value))) }
            let limit = hub.configuration.maxRoomsPerConnection
            guard subscriptions.count < limit else { return send(ViewerMessage.error(.tooManyRooms(max: limit))) }
            // Each join reads history: joins and leaves in a loop are budgeted like HTTP reads.
            if let spent = hub.services.admitRead(clientAddress: clientAddress) { return send(ViewerMessage.error(spent)) }
            watch(room, since: envelope.since, epoch: envelope.epoch)
        case "leave":
            guard envelope.room != nil else { return send(ViewerMessage.error(.invalidField("room", "a room is required"))) }
            guard let subscription = subscriptions.removeValue(forKey: room) else {
                return send(ViewerMessage.error(.notWatching(room.value)))
            }
            shard?.leave(subscription)
            send(ViewerMessage.frame(ViewerMessage.Left(room: room.value)))
        default:
            send(ViewerMessage.error(.init(code: "unknown_type", status: 400, message: "unknown message type '\(envelope.type)'")))
        }
    }

    /// A comment posted over the socket, to `room`; answered with `ack` or `error`. With
    /// `idempotencyKey`, a retry (on this socket or a later one) is answered as an HTTP retry is.
    private func post(_ bytes: [UInt8], room: RoomID, idempotencyKey: IdempotencyKey?, context: ChannelHandlerContext) {
        let echo = idempotencyKey?.value
        guard hub.configuration.viewerPosts else {
            return send(ViewerMessage.error(.init(
                code: "posting_disabled", status: 403, message: "this node does not take posts over WebSocket; use the HTTP API"),
                idempotencyKey: echo))
        }
        guard postsInFlight < Self.maxPostsInFlight else {
            return send(ViewerMessage.error(.rateLimited(scope: "connection", retryAfter: 1), idempotencyKey: echo))
        }
        // The author is derived when posting rather than stored: most viewers never post, and
        // every byte of an idle viewer is multiplied by the connections a node holds.
        let (services, address, token) = (hub.services, clientAddress, token)
        // On the loop when the node can store it at once; otherwise off it, counted in flight.
        if let answered = services.postNow(bytes, room: room, token: token, clientAddress: address, idempotencyKey: idempotencyKey) {
            return answer(answered, echo: echo)
        }
        postsInFlight += 1
        context.eventLoop.makeFutureWithTask {
            await services.post(bytes, room: room, token: token, clientAddress: address, idempotencyKey: idempotencyKey)
        }.assumeIsolated().whenSuccess { [self] result in
            postsInFlight -= 1
            answer(result, echo: echo)
        }
    }

    /// A post's `ack`, or its `error`.
    private func answer(_ result: Result<(receipt: CommentReceipt, authorID: String), DanmakuError>, echo: String?) {
        switch result {
        case .success(let (receipt, author)):
            if authorID == nil { authorID = EncodedComment.encodedAuthorID(author) }
            send(ViewerMessage.frame(ViewerMessage.Ack(
                id: receipt.id, room: receipt.room, seq: receipt.seq, ts: receipt.ts, idempotencyKey: echo)))
        case .failure(let error):
            if let detail = error.internalDetail {
                hub.logger.warning("post failed", metadata: ["code": "\(error.code)", "detail": "\(detail)"])
            }
            send(ViewerMessage.error(error, idempotencyKey: echo))
        }
    }
}
