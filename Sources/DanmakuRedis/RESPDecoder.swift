// Danmaku — a live-stream bullet-comment service.

import NIOCore

/// Decodes RESP values from a byte stream; waits for more bytes while a value is incomplete.
///
/// Bounded: bulk strings over `maxBulkBytes`, aggregates over `maxElements` or nested deeper than
/// `maxDepth` are errors, so a broken or hostile peer cannot make the client allocate without limit.
public struct RESPDecoder: ByteToMessageDecoder, Sendable {
    public typealias InboundOut = RESPValue

    /// The peer sent bytes that are not RESP, or over a bound.
    public struct ProtocolError: Error, CustomStringConvertible {
        public var description: String
    }

    public var maxBulkBytes = 64 * 1024 * 1024
    public var maxElements = 1_000_000
    public var maxDepth = 16

    public init() {}

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let value = try Self.parse(&buffer, limits: self) else { return .needMoreData }
        context.fireChannelRead(wrapInboundOut(value))
        return .continue
    }

    public mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        try decode(context: context, buffer: &buffer)
    }

    /// Parses one complete value from the front of `buffer` and consumes it; nil (nothing consumed)
    /// when the value is not complete yet.
    public static func parse(_ buffer: inout ByteBuffer, limits: RESPDecoder = RESPDecoder()) throws -> RESPValue? {
        var cursor = buffer
        guard let value = try parseValue(&cursor, limits: limits, depth: 0) else { return nil }
        buffer = cursor
        return value
    }

    private static func parseValue(_ buffer: inout ByteBuffer, limits: RESPDecoder, depth: Int) throws -> RESPValue? {
        guard depth <= limits.maxDepth else { throw ProtocolError(description: "RESP nested deeper than \(limits.maxDepth)") }
        guard let marker = buffer.readInteger(as: UInt8.self) else { return nil }
        guard let line = readLine(&buffer) else { return nil }
        switch marker {
        case UInt8(ascii: "+"): return .simpleString(line)
        case UInt8(ascii: "-"), UInt8(ascii: "!"): return .error(line)
        case UInt8(ascii: ":"):
            guard let value = Int64(line) else { throw ProtocolError(description: "bad RESP integer '\(line)'") }
            return .integer(value)
        case UInt8(ascii: "_"): return .null
        case UInt8(ascii: "#"): return .integer(line == "t" ? 1 : 0)
        case UInt8(ascii: ","), UInt8(ascii: "("): return .simpleString(line)
        case UInt8(ascii: "$"), UInt8(ascii: "="):
            guard let length = Int(line), length >= -1, length <= limits.maxBulkBytes else {
                throw ProtocolError(description: "bad RESP bulk length '\(line)'")
            }
            if length == -1 { return .bulkString(nil) }
            guard buffer.readableBytes >= length + 2, let bytes = buffer.readSlice(length: length) else { return nil }
            buffer.moveReaderIndex(forwardBy: 2)
            return .bulkString(bytes)
        case UInt8(ascii: "*"), UInt8(ascii: ">"), UInt8(ascii: "~"), UInt8(ascii: "%"):
            guard var count = Int(line), count >= -1, count <= limits.maxElements else {
                throw ProtocolError(description: "bad RESP aggregate length '\(line)'")
            }
            if count == -1 { return .array(nil) }
            if marker == UInt8(ascii: "%") { count *= 2 }  // a map: keys and values, flattened
            var elements: [RESPValue] = []
            elements.reserveCapacity(min(count, 1024))
            for _ in 0..<count {
                guard let element = try parseValue(&buffer, limits: limits, depth: depth + 1) else { return nil }
                elements.append(element)
            }
            return marker == UInt8(ascii: ">") ? .push(elements) : .array(elements)
        default:
            throw ProtocolError(description: "unknown RESP type byte \(marker)")
        }
    }

    /// Reads up to `\r\n` (not included); nil when the line is not complete.
    private static func readLine(_ buffer: inout ByteBuffer) -> String? {
        guard let end = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\r")),
              end + 1 < buffer.writerIndex else { return nil }
        let length = end - buffer.readerIndex
        let line = buffer.readString(length: length)
        buffer.moveReaderIndex(forwardBy: 2)
        return line
    }
}
