// Danmaku — a live-stream bullet-comment service.

import NIOCore

/// Decodes RESP values from a byte stream, incrementally: each element of an aggregate is taken
/// off the buffer as soon as it is complete, and the aggregates still open are kept, so a large
/// reply arriving in many reads is parsed once, not again from its start on every read.
///
/// Bounded: bulk strings over `maxBulkBytes`, aggregates over `maxElements` (a map's keys and
/// values counted), replies over `maxReplyBytes` in all or nested deeper than `maxDepth` are
/// errors, so a broken or hostile peer cannot make the client allocate without limit.
public struct RESPDecoder: ByteToMessageDecoder, Sendable {
    public typealias InboundOut = RESPValue

    /// The peer sent bytes that are not RESP, or over a bound.
    public struct ProtocolError: Error, CustomStringConvertible {
        public var description: String
    }

    public var maxBulkBytes = 64 * 1024 * 1024
    public var maxElements = 1_000_000
    public var maxDepth = 16
    /// The most bytes one reply (with everything nested in it) may take.
    public var maxReplyBytes = 256 * 1024 * 1024

    /// An aggregate whose elements are still arriving.
    private struct OpenAggregate: Sendable {
        var marker: UInt8
        var remaining: Int
        var elements: [RESPValue]
    }

    /// The aggregates open around the next element, outermost first.
    private var open: [OpenAggregate] = []
    /// Bytes of the current reply consumed so far.
    private var replyBytes = 0

    public init() {}

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let value = try next(&buffer) else { return .needMoreData }
        context.fireChannelRead(wrapInboundOut(value))
        return .continue
    }

    public mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        try decode(context: context, buffer: &buffer)
    }

    /// The next complete reply, or nil when it is not complete yet: the elements that are
    /// complete have been consumed and are kept, the rest waits in `buffer`.
    public mutating func next(_ buffer: inout ByteBuffer) throws -> RESPValue? {
        while true {
            let before = buffer.readerIndex
            guard let item = try readItem(&buffer) else { return nil }
            replyBytes += buffer.readerIndex - before
            guard replyBytes <= maxReplyBytes else { throw ProtocolError(description: "RESP reply over \(maxReplyBytes) bytes") }
            var value: RESPValue
            switch item {
            case .value(let complete):
                value = complete
            case .aggregate(let marker, let count):
                guard open.count < maxDepth else { throw ProtocolError(description: "RESP nested deeper than \(maxDepth)") }
                if count > 0 {
                    open.append(OpenAggregate(marker: marker, remaining: count, elements: []))
                    open[open.count - 1].elements.reserveCapacity(min(count, 1024))
                    continue
                }
                value = Self.aggregate(marker, [])
            }
            // Hand the value to the aggregate it completes, and close every aggregate it fills.
            while !open.isEmpty {
                open[open.count - 1].elements.append(value)
                open[open.count - 1].remaining -= 1
                guard open[open.count - 1].remaining == 0 else { break }
                let done = open.removeLast()
                value = Self.aggregate(done.marker, done.elements)
            }
            if open.isEmpty {
                replyBytes = 0
                return value
            }
        }
    }

    /// Parses one complete value from the front of `buffer` and consumes it; nil (nothing consumed)
    /// when the value is not complete yet.
    public static func parse(_ buffer: inout ByteBuffer, limits: RESPDecoder = RESPDecoder()) throws -> RESPValue? {
        var decoder = limits
        var cursor = buffer
        guard let value = try decoder.next(&cursor) else { return nil }
        buffer = cursor
        return value
    }

    private enum Item {
        case value(RESPValue)
        /// The head of an aggregate of `count` elements (a map's keys and values counted).
        case aggregate(UInt8, count: Int)
    }

    private static func aggregate(_ marker: UInt8, _ elements: [RESPValue]) -> RESPValue {
        marker == UInt8(ascii: ">") ? .push(elements) : .array(elements)
    }

    /// One scalar, or the head of an aggregate, consumed only when complete.
    private func readItem(_ buffer: inout ByteBuffer) throws -> Item? {
        var cursor = buffer
        guard let marker = cursor.readInteger(as: UInt8.self), let line = try Self.readLine(&cursor) else { return nil }
        let item: Item
        switch marker {
        case UInt8(ascii: "+"): item = .value(.simpleString(line))
        case UInt8(ascii: "-"), UInt8(ascii: "!"): item = .value(.error(line))
        case UInt8(ascii: ":"):
            guard let value = Int64(line) else { throw ProtocolError(description: "bad RESP integer '\(line)'") }
            item = .value(.integer(value))
        case UInt8(ascii: "_"): item = .value(.null)
        case UInt8(ascii: "#"): item = .value(.integer(line == "t" ? 1 : 0))
        case UInt8(ascii: ","), UInt8(ascii: "("): item = .value(.simpleString(line))
        case UInt8(ascii: "$"), UInt8(ascii: "="):
            guard let length = Int(line), length >= -1, length <= maxBulkBytes else {
                throw ProtocolError(description: "bad RESP bulk length '\(line)'")
            }
            if length == -1 {
                item = .value(.bulkString(nil))
            } else {
                guard cursor.readableBytes >= length + 2, let bytes = cursor.readSlice(length: length) else { return nil }
                cursor.moveReaderIndex(forwardBy: 2)
                item = .value(.bulkString(bytes))
            }
        case UInt8(ascii: "*"), UInt8(ascii: ">"), UInt8(ascii: "~"), UInt8(ascii: "%"):
            guard let declared = Int(line), declared >= -1, declared <= maxElements else {
                throw ProtocolError(description: "bad RESP aggregate length '\(line)'")
            }
            if declared == -1 {
                item = .value(.array(nil))
            } else {
                // A map's keys and values arrive flattened; the bound counts both.
                let count = marker == UInt8(ascii: "%") ? declared * 2 : declared
                guard count <= maxElements else { throw ProtocolError(description: "RESP map of \(declared) pairs is over the bound") }
                item = .aggregate(marker, count: count)
            }
        default:
            throw ProtocolError(description: "unknown RESP type byte \(marker)")
        }
        buffer = cursor
        return item
    }

    /// The longest line (a type byte's text: a number, a status) a reply may hold.
    static let maxLineBytes = 64 * 1024

    /// Reads up to `\r\n` (not included); nil when the line is not complete.
    private static func readLine(_ buffer: inout ByteBuffer) throws -> String? {
        guard let end = buffer.readableBytesView.prefix(maxLineBytes + 1).firstIndex(of: UInt8(ascii: "\r")) else {
            if buffer.readableBytes > maxLineBytes { throw ProtocolError(description: "RESP line over \(maxLineBytes) bytes") }
            return nil
        }
        guard end + 1 < buffer.writerIndex else { return nil }
        let length = end - buffer.readerIndex
        let line = buffer.readString(length: length)
        buffer.moveReaderIndex(forwardBy: 2)
        return line
    }
}
