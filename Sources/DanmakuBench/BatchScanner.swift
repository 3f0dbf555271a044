// Danmaku — a live-stream bullet-comment service.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads what the bench needs from a server text frame without decoding its JSON.
///
/// A `comments` batch is `{"type":"comments","room":"…","comments":[{"seq":N,…,"text":"b<µs>…",…},…]}`:
/// `"seq":` appears once per comment, first, and nowhere else unescaped (quotes in strings are
/// escaped), and the comment's `"text":` comes before the next comment's `"seq":`. Scanning bytes keeps the bench cheaper than the server it measures.
public enum BatchScanner {
    /// The kind of a server message.
    public enum Kind: Equatable {
        case comments, hello, gap, other
    }

    private static let commentsPrefix = Array(#"{"type":"comments""#.utf8)
    private static let seqKey = Needle(#""seq":"#)
    private static let stampKey = Needle(#""text":"b"#)

    /// A byte pattern and the offset of its rarest byte, which is searched for first.
    struct Needle {
        let bytes: [UInt8]
        let anchor: Int
        var count: Int { bytes.count }

        init(_ text: String) {
            bytes = Array(text.utf8)
            // Quotes, colons and common letters are everywhere in JSON: poor anchors.
            let common = Set(Array(#""':,{}[] etoarnmisdcu"#.utf8))
            anchor = bytes.lastIndex { !common.contains($0) } ?? bytes.count - 1
        }
    }

    /// The message type, from the first bytes.
    public static func kind(_ payload: UnsafeRawBufferPointer) -> Kind {
        if payload.starts(with: commentsPrefix) { return .comments }
        // Other messages are rare; a plain search is fine.
        if contains(payload, Needle(#""type":"hello""#)) { return .hello }
        if contains(payload, Needle(#""type":"gap""#)) { return .gap }
        return .other
    }

    /// The seq of the first and of the last comment in a batch.
    public static func firstAndLastSeq(_ payload: UnsafeRawBufferPointer) -> (first: UInt64, last: UInt64)? {
        guard let firstKey = index(of: seqKey, in: payload, from: 0),
            let lastKey = lastIndex(of: seqKey, in: payload)
        else { return nil }
        guard let first = number(in: payload, at: firstKey + seqKey.count),
            let last = number(in: payload, at: lastKey + seqKey.count)
        else { return nil }
        return (first.value, last.value)
    }

    /// Calls `body(seq, stamp)` for every comment; `stamp` is the send time the bench wrote in
    /// the text (`b<microseconds>`), or nil for comments the bench did not post.
    public static func forEachComment(_ payload: UnsafeRawBufferPointer, _ body: (UInt64, UInt64?) -> Void) {
        // One pass: each comment's `"seq":` is found once, and its stamp only between it and the next.
        var key = index(of: seqKey, in: payload, from: 0)
        while let at = key {
            guard let seq = number(in: payload, at: at + seqKey.count) else { return }
            key = index(of: seqKey, in: payload, from: seq.end)
            let commentEnd = key ?? payload.count
            var stamp: UInt64?
            let comment = UnsafeRawBufferPointer(rebasing: payload[seq.end..<commentEnd])
            if let text = index(of: stampKey, in: comment, from: 0) {
                stamp = number(in: comment, at: text + stampKey.count)?.value
            }
            body(seq.value, stamp)
        }
    }

    private static let commentsKey = Needle(#""comments":["#)

    /// A budgeted batch's `shed` count and `lastSeq` (from the batch's own fields, ahead of its
    /// comments), or nil for a batch that sheds nothing.
    public static func shed(_ payload: UnsafeRawBufferPointer) -> (count: UInt64, lastSeq: UInt64)? {
        guard let end = index(of: commentsKey, in: payload, from: 0) else { return nil }
        let head = UnsafeRawBufferPointer(rebasing: payload[..<end])
        guard let count = integerField("shed", in: head), let last = integerField("lastSeq", in: head) else { return nil }
        return (count, last)
    }

    private static let mergedKey = Needle(#""merged":["#)

    /// A batch with merged repeats: how many seqs it carries only inside another comment's group
    /// (`"merged":[[42,45,47],…]` — each group's first seq is a comment of the batch) and its
    /// `lastSeq`; nil for a batch that merges nothing.
    public static func merged(_ payload: UnsafeRawBufferPointer) -> (count: UInt64, lastSeq: UInt64)? {
        guard let end = index(of: commentsKey, in: payload, from: 0) else { return nil }
        let head = UnsafeRawBufferPointer(rebasing: payload[..<end])
        guard let start = index(of: mergedKey, in: head, from: 0), let last = integerField("lastSeq", in: head) else { return nil }
        var numbers: UInt64 = 0
        var groups: UInt64 = 0
        var depth = 1
        var position = start + mergedKey.count
        while position < head.count, depth > 0 {
            switch head[position] {
            case UInt8(ascii: "["):
                depth += 1
                groups += 1
                position += 1
            case UInt8(ascii: "]"):
                depth -= 1
                position += 1
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                guard let number = number(in: head, at: position) else { return nil }
                numbers += 1
                position = number.end
            default:
                position += 1
            }
        }
        return numbers >= groups ? (numbers - groups, last) : nil
    }

    /// The number of comments in a batch.
    public static func commentCount(_ payload: UnsafeRawBufferPointer) -> UInt64 {
        var count: UInt64 = 0
        var position = 0
        while let key = index(of: seqKey, in: payload, from: position) {
            count += 1
            position = key + seqKey.count
        }
        return count
    }

    /// The integer after `"key":` anywhere in the payload (for `hello`'s `lastSeq`, `gap`'s bounds).
    public static func integerField(_ key: String, in payload: UnsafeRawBufferPointer) -> UInt64? {
        let pattern = Needle("\"\(key)\":")
        guard let at = index(of: pattern, in: payload, from: 0) else { return nil }
        return number(in: payload, at: at + pattern.count)?.value
    }

    private static func number(in payload: UnsafeRawBufferPointer, at start: Int) -> (value: UInt64, end: Int)? {
        var value: UInt64 = 0
        var index = start
        while index < payload.count, payload[index] >= 0x30, payload[index] <= 0x39 {
            value = value &* 10 &+ UInt64(payload[index] - 0x30)
            // A server's number past what JSON's doubles hold exactly (2^53) is not taken: the
            // bench's sums over seqs then cannot overflow.
            guard value <= 1 << 53 else { return nil }
            index += 1
        }
        return index > start ? (value, index) : nil
    }

    private static func index(of pattern: Needle, in payload: UnsafeRawBufferPointer, from start: Int) -> Int? {
        guard let base = payload.baseAddress, start >= 0, payload.count - start >= pattern.count else { return nil }
        // memchr (vectorised) for the pattern's rarest byte, then a check of the rest: the bench
        // must read faster than the server writes.
        let anchor = pattern.anchor
        let anchorByte = Int32(pattern.bytes[anchor])
        var from = start + anchor
        let last = payload.count - pattern.count + anchor
        while from <= last {
            guard let hit = memchr(base + from, anchorByte, last - from + 1) else { return nil }
            let candidate = UnsafeRawPointer(hit) - base - anchor
            if memcmp(base + candidate, pattern.bytes, pattern.count) == 0 { return candidate }
            from = candidate + anchor + 1
        }
        return nil
    }

    private static func lastIndex(of needle: Needle, in payload: UnsafeRawBufferPointer) -> Int? {
        let pattern = needle.bytes
        guard payload.count >= pattern.count else { return nil }
        var index = payload.count - pattern.count
        while index >= 0 {
            if payload[index] == pattern[0] {
                var matched = true
                for offset in 1..<pattern.count where payload[index + offset] != pattern[offset] {
                    matched = false
                    break
                }
                if matched { return index }
            }
            index -= 1
        }
        return nil
    }

    private static func contains(_ payload: UnsafeRawBufferPointer, _ pattern: Needle) -> Bool {
        index(of: pattern, in: payload, from: 0) != nil
    }
}

extension BatchScanner {
    /// Where the first comment's `"seq":` starts in `payload` at or after `start`.
    static func firstCommentKey(in payload: UnsafeRawBufferPointer, from start: Int = 0) -> Int? {
        index(of: seqKey, in: payload, from: start)
    }

    /// Where the last comment's `"seq":` starts in `payload`.
    static func lastCommentKey(in payload: UnsafeRawBufferPointer) -> Int? {
        lastIndex(of: seqKey, in: payload)
    }

    /// For the start of a `comments` batch that is plain (neither `shed` nor `merged`, whose
    /// accounting needs every comment), the length of its head up to the end of the first
    /// comment's seq; nil when it is not plain, or that much has not arrived.
    static func plainBatchHeadLength(_ payload: UnsafeRawBufferPointer) -> Int? {
        guard kind(payload) == .comments, let list = index(of: commentsKey, in: payload, from: 0) else { return nil }
        let head = UnsafeRawBufferPointer(rebasing: payload[..<list])
        guard !contains(head, Needle(#""shed":"#)), !contains(head, Needle(#""merged":"#)),
            let key = index(of: seqKey, in: payload, from: list), let seq = number(in: payload, at: key + seqKey.count),
            seq.end < payload.count
        else { return nil }
        return seq.end
    }
}
