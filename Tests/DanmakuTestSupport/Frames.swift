import NIOCore

/// A server frame read back from bytes, for assertions.
public struct ParsedFrame: Equatable, Sendable {
    public var fin: Bool
    public var opcode: UInt8
    public var masked: Bool
    public var payload: [UInt8]

    public init(fin: Bool, opcode: UInt8, masked: Bool, payload: [UInt8]) {
        self.fin = fin
        self.opcode = opcode
        self.masked = masked
        self.payload = payload
    }

    public var text: String { String(decoding: payload, as: UTF8.self) }

    /// The close code of a close frame.
    public var closeCode: UInt16? {
        guard opcode == 0x8, payload.count >= 2 else { return nil }
        return UInt16(payload[0]) << 8 | UInt16(payload[1])
    }

    /// Splits `buffer` into frames; nil on a truncated or masked frame.
    public static func parseAll(_ buffer: ByteBuffer) -> [ParsedFrame]? {
        var buffer = buffer
        var frames: [ParsedFrame] = []
        while buffer.readableBytes > 0 {
            guard let frame = parseOne(&buffer) else { return nil }
            frames.append(frame)
        }
        return frames
    }

    /// Reads one server frame from the front of `buffer`; nil (buffer untouched) when incomplete.
    public static func parseOne(_ buffer: inout ByteBuffer) -> ParsedFrame? {
        var copy = buffer
        guard let first: UInt8 = copy.readInteger(), let second: UInt8 = copy.readInteger() else { return nil }
        var length = Int(second & 0x7F)
        if length == 126 {
            guard let extended: UInt16 = copy.readInteger() else { return nil }
            length = Int(extended)
        } else if length == 127 {
            guard let extended: UInt64 = copy.readInteger() else { return nil }
            length = Int(extended)
        }
        guard second & 0x80 == 0, let payload = copy.readBytes(length: length) else { return nil }
        buffer = copy
        return ParsedFrame(fin: first & 0x80 != 0, opcode: first & 0x0F, masked: false, payload: payload)
    }
}

/// A masked client frame as bytes.
public func clientFrame(opcode: UInt8, payload: [UInt8], fin: Bool = true, masked: Bool = true, rsv1: Bool = false) -> ByteBuffer {
    var buffer = ByteBuffer()
    buffer.writeInteger(UInt8((fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | opcode))
    let maskBit: UInt8 = masked ? 0x80 : 0
    if payload.count < 126 {
        buffer.writeInteger(maskBit | UInt8(payload.count))
    } else if payload.count <= 0xFFFF {
        buffer.writeInteger(maskBit | 126)
        buffer.writeInteger(UInt16(payload.count))
    } else {
        buffer.writeInteger(maskBit | 127)
        buffer.writeInteger(UInt64(payload.count))
    }
    if masked {
        let key: [UInt8] = [0x12, 0x34, 0x56, 0x78]
        buffer.writeBytes(key)
        buffer.writeBytes(payload.enumerated().map { $0.element ^ key[$0.offset % 4] })
    } else {
        buffer.writeBytes(payload)
    }
    return buffer
}
