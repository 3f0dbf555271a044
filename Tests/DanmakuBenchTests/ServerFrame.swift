import NIOCore

/// What a server sends a bench viewer, as bytes.
enum ServerFrame {
    /// An unmasked text frame, with the 16- or 64-bit length its size needs.
    static func text(_ text: String) -> ByteBuffer {
        var buffer = ByteBuffer()
        let bytes = Array(text.utf8)
        buffer.writeInteger(UInt8(0x81))
        if bytes.count < 126 {
            buffer.writeInteger(UInt8(bytes.count))
        } else if bytes.count <= 0xFFFF {
            buffer.writeInteger(UInt8(126))
            buffer.writeInteger(UInt16(bytes.count))
        } else {
            buffer.writeInteger(UInt8(127))
            buffer.writeInteger(UInt64(bytes.count))
        }
        buffer.writeBytes(bytes)
        return buffer
    }
}
