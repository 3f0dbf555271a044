// Danmaku — a live-stream bullet-comment service.

import NIOCore

/// One value of the Redis serialization protocol (RESP2, with the RESP3 types Redis 7 may send).
public enum RESPValue: Sendable, Equatable {
    case simpleString(String)
    case error(String)
    case integer(Int64)
    /// A bulk string; nil is RESP2's null bulk string.
    case bulkString(ByteBuffer?)
    /// An array; nil is RESP2's null array.
    case array([RESPValue]?)
    /// RESP3 `_`.
    case null
    /// RESP3 `>`: an out-of-band push (pub/sub messages on a RESP3 connection).
    case push([RESPValue])

    /// The value as text, for simple and bulk strings.
    public var string: String? {
        switch self {
        case .simpleString(let text): text
        case .bulkString(let bytes?): String(buffer: bytes)
        default: nil
        }
    }

    /// The value as an integer, for integers and numeric strings.
    public var integer: Int64? {
        switch self {
        case .integer(let value): value
        case .bulkString, .simpleString: string.flatMap { Int64($0) }
        default: nil
        }
    }

    /// The elements of an array or push.
    public var array: [RESPValue]? {
        switch self {
        case .array(let values?), .push(let values): values
        default: nil
        }
    }

    /// The bytes of a bulk string.
    public var bytes: ByteBuffer? {
        if case .bulkString(let bytes?) = self { return bytes }
        return nil
    }

    /// Whether this is nil in either protocol version.
    public var isNull: Bool {
        switch self {
        case .null, .bulkString(nil), .array(nil): true
        default: false
        }
    }
}

/// The arguments of one command, sent as an array of bulk strings.
public struct RESPCommand: Sendable {
    public var arguments: [ByteBuffer]
    /// Time this command may take on top of the connection's command timeout: a command that
    /// waits on the server by design (`WAIT`, with its own timeout) must not be taken for a dead
    /// connection.
    public var extraTime = TimeAmount.zero

    public init(_ name: String, _ arguments: [RESPArgument] = []) {
        self.arguments = [ByteBuffer(string: name)] + arguments.map(\.buffer)
    }

    /// The command's name, for errors and logs.
    public var name: String { arguments.first.map { String(buffer: $0) } ?? "" }

    /// Appends the command in RESP to `buffer`.
    public func write(to buffer: inout ByteBuffer) {
        buffer.writeString("*\(arguments.count)\r\n")
        for argument in arguments {
            buffer.writeString("$\(argument.readableBytes)\r\n")
            buffer.writeImmutableBuffer(argument)
            buffer.writeStaticString("\r\n")
        }
    }
}

/// One argument of a command: text, an integer or raw bytes.
public struct RESPArgument: Sendable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral {
    public let buffer: ByteBuffer

    public init(_ text: String) { buffer = ByteBuffer(string: text) }
    public init(_ number: some BinaryInteger) { buffer = ByteBuffer(string: String(number)) }
    public init(bytes: ByteBuffer) { buffer = bytes }
    public init(stringLiteral value: String) { self.init(value) }
    public init(integerLiteral value: Int) { self.init(value) }
}
