/// HTTP/1.1 chunked transfer coding, read back by tests (an event stream's body is sent so).
public enum ChunkedBody {
    /// The bytes the complete chunks of `bytes` carry (a body, without its head), in order; an
    /// incomplete last chunk is left out.
    public static func decode(_ bytes: some Collection<UInt8>) -> [UInt8] {
        let crlf = Array("\r\n".utf8)
        var rest = Array(bytes)[...]
        var body: [UInt8] = []
        while let sizeEnd = rest.firstRange(of: crlf),
              let size = Int(String(decoding: rest[..<sizeEnd.lowerBound], as: UTF8.self), radix: 16),
              rest[sizeEnd.upperBound...].count >= size {
            body += rest[sizeEnd.upperBound...].prefix(size)
            rest = rest[sizeEnd.upperBound...].dropFirst(size + 2)
        }
        return body
    }
}
