import DanmakuRedis
import NIOCore
import Testing

@Suite struct RESPDecoderTests {
    func parse(_ text: String) throws -> RESPValue? {
        var buffer = ByteBuffer(string: text)
        return try RESPDecoder.parse(&buffer)
    }

    @Test func decodesEveryType() throws {
        #expect(try parse("+OK\r\n") == .simpleString("OK"))
        #expect(try parse("-ERR bad\r\n") == .error("ERR bad"))
        #expect(try parse(":-42\r\n") == .integer(-42))
        #expect(try parse("$5\r\nhe\r\no\r\n") == .bulkString(ByteBuffer(string: "he\r\no")))
        #expect(try parse("$-1\r\n") == .bulkString(nil))
        #expect(try parse("*-1\r\n") == .array(nil))
        #expect(try parse("_\r\n") == .null)
        #expect(try parse("*2\r\n:1\r\n*1\r\n$1\r\nx\r\n") == .array([.integer(1), .array([.bulkString(ByteBuffer(string: "x"))])]))
        #expect(try parse(">3\r\n$8\r\nsmessage\r\n$1\r\nc\r\n$1\r\np\r\n")?.array?.count == 3)
    }

    @Test func waitsForIncompleteValuesWithoutConsuming() throws {
        let whole = "*2\r\n$3\r\nabc\r\n:7\r\n"
        for cut in 0..<whole.utf8.count {
            var buffer = ByteBuffer(bytes: Array(whole.utf8.prefix(cut)))
            #expect(try RESPDecoder.parse(&buffer) == nil, "cut at \(cut)")
            #expect(buffer.readableBytes == cut)
        }
        var buffer = ByteBuffer(string: whole + "+next\r\n")
        #expect(try RESPDecoder.parse(&buffer)?.array?.count == 2)
        #expect(try RESPDecoder.parse(&buffer) == .simpleString("next"))
    }

    @Test func refusesWhatIsNotRESPOrOverABound() throws {
        #expect(throws: RESPDecoder.ProtocolError.self) { try parse("?\r\n") }
        #expect(throws: RESPDecoder.ProtocolError.self) { try parse(":twelve\r\n") }
        #expect(throws: RESPDecoder.ProtocolError.self) { try parse("$-2\r\n") }
        #expect(throws: RESPDecoder.ProtocolError.self) { try parse("$999999999999\r\n") }
        #expect(throws: RESPDecoder.ProtocolError.self) { try parse(String(repeating: "*1\r\n", count: 40) + ":1\r\n") }
    }

    /// A large reply arriving a few bytes at a time: every complete element is consumed as it
    /// arrives (nothing is parsed twice), and the reply comes out whole and right.
    @Test func decodesALargeReplyIncrementally() throws {
        let count = 5000
        var whole = "*\(count)\r\n"
        for index in 0..<count { whole += "*2\r\n$\(String(index).utf8.count)\r\n\(index)\r\n:\(index)\r\n" }
        let bytes = Array(whole.utf8)
        var decoder = RESPDecoder()
        var buffer = ByteBuffer()
        var value: RESPValue?
        var offset = 0
        while offset < bytes.count {
            let end = min(bytes.count, offset + 7)
            buffer.writeBytes(bytes[offset..<end])
            offset = end
            if let decoded = try decoder.next(&buffer) { value = decoded }
            // Only the incomplete tail of the last element is left waiting.
            #expect(buffer.readableBytes < 40, "consumed as it arrives; \(buffer.readableBytes) bytes waiting at \(offset)")
        }
        let elements = try #require(value?.array)
        #expect(elements.count == count)
        #expect(elements[4321] == .array([.bulkString(ByteBuffer(string: "4321")), .integer(4321)]))
        #expect(buffer.readableBytes == 0)
    }

    @Test func boundsMapsRepliesAndLines() throws {
        var limits = RESPDecoder()
        limits.maxElements = 10
        var map = ByteBuffer(string: "%6\r\n")
        #expect(throws: RESPDecoder.ProtocolError.self, "six pairs are twelve elements") { try RESPDecoder.parse(&map, limits: limits) }
        limits = RESPDecoder()
        limits.maxReplyBytes = 100
        var reply = ByteBuffer(string: "*10\r\n" + String(repeating: "$20\r\n" + String(repeating: "x", count: 20) + "\r\n", count: 10))
        #expect(throws: RESPDecoder.ProtocolError.self) { try RESPDecoder.parse(&reply, limits: limits) }
        var line = ByteBuffer(string: "+" + String(repeating: "y", count: 70_000))
        #expect(throws: RESPDecoder.ProtocolError.self, "a line with no end in sight") { try RESPDecoder.parse(&line) }
    }

    @Test func encodesCommandsAsBulkStringArrays() {
        var buffer = ByteBuffer()
        RESPCommand("SET", ["k", RESPArgument(12)]).write(to: &buffer)
        #expect(String(buffer: buffer) == "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\n12\r\n")
    }

    @Test func parsesRedisAddresses() {
        #expect(RedisAddress(url: "redis://10.0.0.1:6380") == RedisAddress(host: "10.0.0.1", port: 6380))
        #expect(RedisAddress(url: "redis://cache/") == RedisAddress(host: "cache", port: 6379))
        for bad in ["http://x:1", "redis://", "redis://h:0", "redis://h:x", "redis://h:1:2"] {
            #expect(RedisAddress(url: bad) == nil, "\(bad)")
        }
    }
}
