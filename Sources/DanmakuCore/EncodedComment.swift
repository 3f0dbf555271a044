// Danmaku — a live-stream bullet-comment service.

import Foundation
import NIOCore

/// A comment together with its JSON bytes, encoded once when the comment is accepted.
///
/// Everything downstream (history answers, batch frames, the bus) reuses `json` instead of
/// encoding again; this is what makes fan-out cost independent of the comment's shape.
///
/// `seq` is the first key of the JSON and the others follow in sorted order: a store numbers a
/// comment by putting `{"seq":N,` in front of its unnumbered JSON (`Comment.unnumberedJSON`), so the
/// memory bus and Redis (in a script) produce the same bytes, and a reader finds the seq without
/// decoding the rest.
public struct EncodedComment: Sendable, Hashable {
    /// The room the comment belongs to.
    public let room: RoomID
    /// The comment's sequence number in its room.
    public let seq: UInt64
    /// The comment as a JSON object (`{"seq":…}`), ready to be concatenated into a frame.
    public let json: ByteBuffer

    /// Encodes `comment`.
    public init(_ comment: Comment, room: RoomID) throws {
        self.init(numbering: comment.unnumberedJSON(), seq: comment.seq, room: room)
    }

    /// Numbers an unnumbered comment: `{"seq":N,` followed by `unnumbered` without its `{`.
    public init(numbering unnumbered: ByteBuffer, seq: UInt64, room: RoomID) {
        var json = ByteBuffer()
        json.reserveCapacity(unnumbered.readableBytes + 28)
        json.writeStaticString("{\"seq\":")
        json.writeString(String(seq))
        json.writeStaticString(",")
        json.writeImmutableBuffer(unnumbered.getSlice(at: unnumbered.readerIndex + 1, length: unnumbered.readableBytes - 1) ?? ByteBuffer())
        self.init(room: room, seq: seq, json: json)
    }

    /// Wraps bytes that are already a comment's JSON (e.g. received from a bus).
    public init(room: RoomID, seq: UInt64, json: ByteBuffer) {
        self.room = room
        self.seq = seq
        self.json = json
    }

    /// Wraps a numbered comment's JSON, reading its seq from the leading `{"seq":N,`; nil when
    /// the bytes do not start that way.
    public init?(numberedJSON json: ByteBuffer, room: RoomID) {
        let prefix = "{\"seq\":".utf8
        let view = json.readableBytesView
        guard view.starts(with: prefix), let seq = Self.unsignedInteger(in: view, at: view.startIndex + prefix.count) else {
            return nil
        }
        self.init(room: room, seq: seq, json: json)
    }

    /// The bytes that mark the comment with id `id` in its JSON: the top-level `id` sits between
    /// `color` and `mode` (keys are sorted), unlike the author's `id`, which `name` follows.
    public static func idMarker(_ id: String) -> String { ",\"id\":\"" + id + "\",\"mode\":" }

    /// The same for a notice, whose `id` is followed by its `kind`.
    public static func noticeIDMarker(_ id: String) -> String { ",\"id\":\"" + id + "\",\"kind\":\"notice\"," }

    /// Whether this is the comment or notice with id `id` (a plain id: letters, digits and dashes).
    public func hasID(_ id: String) -> Bool {
        let view = json.readableBytesView
        return view.firstRange(ofBytes: Array(Self.idMarker(id).utf8)) != nil || view.firstRange(ofBytes: Array(Self.noticeIDMarker(id).utf8)) != nil
    }

    private static let idKey = Array(#","id":""#.utf8)
    private static let afterCommentID = Array(#"","mode":"#.utf8)
    private static let afterNoticeID = Array(#"","kind":"notice","#.utf8)

    /// The comment's (or notice's) own id, read from its JSON without decoding it: the `"id"`
    /// followed by `mode` (or a notice's `kind`), as `idMarker` finds it; nil when there is none.
    /// An id is plain (letters, digits, dashes), so it holds no quote and needs no unescaping.
    public var commentID: String? {
        let view = json.readableBytesView
        var rest = view[...]
        while let key = rest.firstRange(ofBytes: Self.idKey) {
            let value = rest[key.upperBound...]
            if let end = value.firstIndex(of: UInt8(ascii: "\"")), end - value.startIndex <= 64 {
                let after = view[end...]
                if after.starts(with: Self.afterCommentID) || after.starts(with: Self.afterNoticeID) {
                    return String(decoding: view[value.startIndex..<end], as: UTF8.self)
                }
            }
            rest = view[key.upperBound...]
        }
        return nil
    }

    /// Whether `id` could be a comment id: 1 to 64 letters, digits or dashes.
    public static func isPlausibleID(_ id: String) -> Bool {
        !id.isEmpty && id.utf8.count <= 64 && id.utf8.allSatisfy { $0 == UInt8(ascii: "-") || ($0 >= 48 && $0 <= 57) || ($0 | 0x20 >= 97 && $0 | 0x20 <= 122) }
    }

    /// The comment's `ts` (acceptance time, ms since the epoch), read from its JSON without
    /// decoding it. The top-level `"ts":` is the last one: only `user` (with fixed keys) and
    /// `weight` (a number) follow it, while a notice's `payload`, which may hold any keys, comes before; inside strings a
    /// quote is escaped, so text never matches.
    public var acceptedAtMilliseconds: Int64? {
        let view = json.readableBytesView
        guard let key = Self.lastRange(of: Self.tsKey, in: view), let value = Self.unsignedInteger(in: view, at: key.upperBound) else {
            return nil
        }
        return Int64(exactly: value)
    }

    private static let tsKey = Array(#""ts":"#.utf8)
    private static let noticeMarker = Array(#""kind":"notice","payload":"#.utf8)
    private static let roleMarker = Array(#""role":""#.utf8)
    private static let authorMarker = Array(#""user":{"id":"#.utf8)

    /// Whether this is a notice, or a comment by a streamer, moderator or admin: what a display
    /// budget never sheds. Read from the JSON: `"kind"` is only ever a notice's key, and `"role"`
    /// only appears in a privileged author (a viewer's text cannot hold an unescaped quote).
    public var isPriority: Bool {
        let view = json.readableBytesView
        if view.firstRange(ofBytes: Self.noticeMarker) != nil { return true }
        guard let author = Self.lastRange(of: Self.authorMarker, in: view) else { return false }
        return view[author.upperBound...].firstRange(ofBytes: Self.roleMarker) != nil
    }

    private static let nameKey = Array(#","name":"#.utf8)

    /// The author's id as it appears in the JSON (a JSON string, quotes included), to compare
    /// with `encodedAuthorID(_:)` of a user id. `user` is the last object (only `weight`, a number,
    /// follows it), and its `id` is followed by `name`, which cannot appear unescaped inside the id.
    public var encodedAuthor: [UInt8]? {
        let view = json.readableBytesView
        guard let author = Self.lastRange(of: Self.authorMarker, in: view),
            let end = view[author.upperBound...].firstRange(ofBytes: Self.nameKey)
        else { return nil }
        return Array(view[author.upperBound..<end.lowerBound])
    }

    /// A user id as it appears in comment JSON, to compare with `encodedAuthor`.
    public static func encodedAuthorID(_ id: String) -> [UInt8] {
        (try? Array(WireCodec.encoder.encode(id))) ?? []
    }

    /// The last occurrence of `pattern` in `view`.
    static func lastRange(of pattern: [UInt8], in view: ByteBufferView) -> Range<ByteBufferView.Index>? {
        guard let first = pattern.first, view.count >= pattern.count else { return nil }
        var start = view.endIndex - pattern.count
        while start >= view.startIndex {
            // The first byte alone rules out nearly every place, without a slice.
            if view[start] == first, view[start..<start + pattern.count].elementsEqual(pattern) { return start..<start + pattern.count }
            start -= 1
        }
        return nil
    }

    /// The unsigned integer written at `index` of `view` (its digits up to the first non-digit);
    /// nil when there is no digit there or the number does not fit 64 bits. For reading numbers
    /// out of comment JSON without decoding it.
    public static func unsignedInteger(in view: ByteBufferView, at index: ByteBufferView.Index) -> UInt64? {
        var value: UInt64 = 0
        var digits = 0
        for byte in view[index...] {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { break }
            let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(UInt64(byte - UInt8(ascii: "0")))
            guard !overflow1, !overflow2 else { return nil }
            value = sum
            digits += 1
        }
        return digits > 0 ? value : nil
    }

    /// Decodes the JSON back into a model value.
    public func decoded() throws -> Comment {
        try WireCodec.decoder.decode(Comment.self, from: json)
    }
}

extension Comment {
    /// The comment's JSON without `seq` (keys sorted), ready to be numbered by a store: the bytes
    /// `WireCodec.encoder` writes for it, written field by field (a post's hot path).
    public func unnumberedJSON() -> ByteBuffer {
        var json = ByteBuffer()
        json.reserveCapacity(160 + text.utf8.count + user.name.utf8.count)
        json.writeStaticString("{")
        JSONWriter.writeKey("color", into: &json)
        JSONWriter.writeString(color, into: &json)
        json.writeStaticString(",")
        JSONWriter.writeKey("id", into: &json)
        JSONWriter.writeString(id, into: &json)
        json.writeStaticString(",")
        JSONWriter.writeKey("mode", into: &json)
        JSONWriter.writeString(mode.rawValue, into: &json)
        if let pool {
            json.writeStaticString(",")
            JSONWriter.writeKey("pool", into: &json)
            json.writeStaticString(pool ? "true" : "false")
        }
        json.writeStaticString(",")
        JSONWriter.writeKey("room", into: &json)
        JSONWriter.writeString(room, into: &json)
        if let size {
            json.writeStaticString(",")
            JSONWriter.writeKey("size", into: &json)
            JSONWriter.writeString(size.rawValue, into: &json)
        }
        json.writeStaticString(",")
        JSONWriter.writeKey("text", into: &json)
        JSONWriter.writeString(text, into: &json)
        json.writeStaticString(",")
        JSONWriter.writeKey("ts", into: &json)
        JSONWriter.writeInteger(ts, into: &json)
        json.writeStaticString(",")
        JSONWriter.writeKey("user", into: &json)
        json.writeStaticString("{")
        JSONWriter.writeKey("id", into: &json)
        JSONWriter.writeString(user.id, into: &json)
        json.writeStaticString(",")
        JSONWriter.writeKey("name", into: &json)
        JSONWriter.writeString(user.name, into: &json)
        if let role = user.role {
            json.writeStaticString(",")
            JSONWriter.writeKey("role", into: &json)
            JSONWriter.writeString(role, into: &json)
        }
        json.writeStaticString("}")
        if let weight {
            json.writeStaticString(",")
            JSONWriter.writeKey("weight", into: &json)
            JSONWriter.writeInteger(weight, into: &json)
        }
        json.writeStaticString("}")
        return json
    }
}
