// Danmaku — a live-stream bullet-comment service.

import DanmakuBus
import DanmakuCore
import Foundation
import NIOCore

// The lines a room channel carries besides comments (one JSON per line; comments start
// `{"seq":`), as `RedisBus.publishLikes` and the scripts write them and `RedisFeeds.receive`
// reads them.

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
