// Danmaku — a live-stream bullet-comment service.

import DanmakuBus
import DanmakuCore
import Foundation
import NIOCore

/// One line of a message on a room channel: a message is one JSON per line, a batch's comments
/// (`RoomBatchPublisher`), a retraction (the scripts) or like counts (`RedisBus.publishLikes`).
enum ChannelLine {
    case comment(EncodedComment)
    case retraction(RetractionLine)
    case likes([LikeCount])

    /// Hands each line of `payload`, a message on `room`'s channel, to `body` in order; a line that
    /// is none of these is skipped.
    static func read(_ payload: ByteBuffer, room: RoomID, _ body: (ChannelLine) -> Void) {
        var rest = payload
        while rest.readableBytes > 0 {
            let line: ByteBuffer
            if let newline = rest.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) {
                line = rest.readSlice(length: newline - rest.readerIndex)!
                rest.moveReaderIndex(forwardBy: 1)
            } else {
                line = rest.readSlice(length: rest.readableBytes)!
            }
            if let comment = EncodedComment(numberedJSON: line, room: room) {
                body(.comment(comment))
            } else if let retraction = RetractionLine(line: line) {
                body(.retraction(retraction))
            } else if let counts = try? WireCodec.decoder.decode(LikeCountsLine.self, from: Data(line.readableBytesView)), counts.type == "likes" {
                body(.likes(counts.likes))
            }
        }
    }
}

/// Like counts on a room channel: `{"type":"likes","likes":[…]}`.
struct LikeCountsLine: Codable {
    var type = "likes"
    var likes: [LikeCount]
}

/// A retraction on a room channel: `{"type":"retract",…}` (comments start `{"seq":`), as the
/// scripts write it (`RedisScripts.retract`, `withdraw`).
struct RetractionLine: Codable {
    var type = "retract"
    var seq: UInt64
    var id: String
    /// Its number among the room's retractions (1, 2, 3…; nil from a node before they were
    /// numbered).
    var n: UInt64?
    /// True when another comment holds the seq (see `BusSubscriber.retract`); left out otherwise.
    var reused: Bool?
    /// Why, when it was not taken back by hand; left out otherwise.
    var reason: RetractReason?

    /// The retraction a line holds, or nil when the line is not one (numbers past
    /// `ClientNumber.maxSeq` and implausible ids included: whatever is in Redis is checked).
    init?(line: ByteBuffer) {
        guard let retraction = try? WireCodec.decoder.decode(Self.self, from: Data(line.readableBytesView)), retraction.type == "retract",
              retraction.seq <= ClientNumber.maxSeq, (retraction.n ?? 0) <= ClientNumber.maxSeq, EncodedComment.isPlausibleID(retraction.id)
        else { return nil }
        self = retraction
    }
}
