// Danmaku — a live-stream bullet-comment service.

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
        let view = json.readableBytesView
        guard let text = view.firstRange(ofBytes: Self.textKey) else { return json }
        // The comma before `"text"` ends the field in front of it.
        let head = view[view.startIndex..<view.index(after: text.lowerBound)]
        var cuts: [Range<ByteBufferView.Index>] = []
        for field in [Self.defaultColor, Self.defaultMode, Self.roomField(room)] {
            if let found = head.firstRange(ofBytes: field) { cuts.append(found) }
        }
        guard !cuts.isEmpty else { return json }
        cuts.sort { $0.lowerBound < $1.lowerBound }
        var compact = ByteBuffer()
        compact.reserveCapacity(json.readableBytes)
        var position = view.startIndex
        for cut in cuts {
            compact.writeBytes(view[position..<cut.lowerBound])
            position = cut.upperBound
        }
        compact.writeBytes(view[position...])
        return compact
    }

    private static let textKey = Array(#","text":"#.utf8)
    private static let defaultColor = Array(##""color":"#ffffff","##.utf8)
    private static let defaultMode = Array(#""mode":"scroll","#.utf8)
    private static func roomField(_ room: RoomID) -> [UInt8] { Array(#""room":"\#(room.value)","#.utf8) }
}
