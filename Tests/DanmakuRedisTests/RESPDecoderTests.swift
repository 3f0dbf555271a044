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
