// Danmaku — a live-stream bullet-comment service.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore

/// How comments are written in a viewer's batches: chosen per connection with `?v=` on the
/// socket or event-stream URL, and named in `hello` (`"v"`).
///
/// Version 1 writes each comment whole, exactly as the API returns it. Version 2 leaves out what
/// every comment of a batch would repeat: the room (the batch names it) and the colour and mode
/// when they are the defaults (`#ffffff`, `scroll`). A version 2 client fills those in.
public enum WireFormat: Int, Sendable, CaseIterable {
    case full = 1
    case compact = 2

    /// The versions a client may ask for.
    public static let versions: ClosedRange<UInt64> = 1...2
}

extension EncodedComment {
    /// The comment's JSON without the fields version 2 leaves out. They all come before `"text"`
    /// (keys are sorted after `seq`), and the text is the only free-form string ahead of the
    /// user object, so only that head is searched; bytes that do not have the expected shape
    /// are returned unchanged.
    public func compactJSON() -> ByteBuffer {
        // Raw bytes, memchr and memcmp: this runs for every comment of every compact batch, and the
        // generic `firstRange(of:)` over a `ByteBufferView` cost about 40 µs a comment.
        json.withUnsafeReadableBytes { bytes -> ByteBuffer in
            guard let text = Self.offset(of: Self.textKey, in: bytes) else { return json }
            // The comma before `"text"` ends the field in front of it.
            let head = UnsafeRawBufferPointer(rebasing: bytes[..<(text + 1)])
            var cuts: [Range<Int>] = []
            for field in [Self.defaultColor, Self.defaultMode, Self.roomField(room)] {
                if let found = Self.offset(of: field, in: head) { cuts.append(found..<(found + field.count)) }
            }
            guard !cuts.isEmpty else { return json }
            cuts.sort { $0.lowerBound < $1.lowerBound }
            var compact = ByteBuffer()
            compact.reserveCapacity(bytes.count)
            var position = 0
            for cut in cuts {
                compact.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[position..<cut.lowerBound]))
                position = cut.upperBound
            }
            compact.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[position...]))
            return compact
        }
    }

    /// Where `pattern` first occurs in `bytes`.
    private static func offset(of pattern: [UInt8], in bytes: UnsafeRawBufferPointer) -> Int? {
        guard let base = bytes.baseAddress, !pattern.isEmpty, pattern.count <= bytes.count else { return nil }
        return pattern.withUnsafeBytes { needle -> Int? in
            let last = bytes.count - needle.count
            var start = 0
            // memchr finds each candidate first byte; memcmp checks the rest.
            while start <= last, let hit = memchr(base + start, Int32(needle[0]), last - start + 1) {
                let at = base.distance(to: UnsafeRawPointer(hit))
                if memcmp(base + at, needle.baseAddress!, needle.count) == 0 { return at }
                start = at + 1
            }
            return nil
        }
    }

    private static let textKey = Array(#","text":"#.utf8)
    private static let defaultColor = Array(##""color":"#ffffff","##.utf8)
    private static let defaultMode = Array(#""mode":"scroll","#.utf8)
    private static func roomField(_ room: RoomID) -> [UInt8] { Array(#""room":"\#(room.value)","#.utf8) }
}
