// Danmaku — a live-stream bullet-comment service.

import Foundation
import NIOCore
import NIOFoundationCompat

/// The project's JSON settings, in one place so every role writes the same bytes.
public enum WireCodec {
    /// Encoder for wire values: compact, keys sorted (the same value always gives the same bytes).
    public static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    /// Decoder for wire values.
    public static var decoder: JSONDecoder { JSONDecoder() }

    /// Encodes `value` into a new buffer.
    public static func encode(_ value: some Encodable) throws -> ByteBuffer {
        ByteBuffer(bytes: try encoder.encode(value))
    }

    /// Writes `{prefix}[item,item,…]{suffix}` from already-encoded JSON items.
    ///
    /// Used for batch frames and history answers: the items are copied, never re-encoded.
    /// (A concrete array, not a generic collection: across modules a generic would run
    /// unspecialized and allocate per item on the hottest path.)
    public static func writeArray(
        of items: [EncodedComment], into buffer: inout ByteBuffer
    ) {
        buffer.writeInteger(UInt8(ascii: "["))
        var first = true
        for item in items {
            if !first { buffer.writeInteger(UInt8(ascii: ",")) }
            first = false
            var json = item.json
            buffer.writeBuffer(&json)
        }
        buffer.writeInteger(UInt8(ascii: "]"))
    }

    /// The bytes `writeArray` would write for `items`.
    public static func arrayLength(of items: [EncodedComment]) -> Int {
        var length = 2 + max(0, items.count - 1)
        for item in items { length += item.json.readableBytes }
        return length
    }
}
