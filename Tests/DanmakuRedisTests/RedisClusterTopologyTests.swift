@testable import DanmakuRedis
import NIOCore
import Testing

/// Key slots as the cluster specification defines them, and the slot map read from `CLUSTER SLOTS`.
@Suite struct RedisClusterTopologyTests {
    @Test func slotsFollowTheSpecification() {
        // The specification's check value for its CRC16 variant, and slots `CLUSTER KEYSLOT` gives.
        #expect(RedisHashSlot.crc16(Array("123456789".utf8)) == 0x31C3)
        #expect(RedisHashSlot.of("foo") == 12182)
        #expect(RedisHashSlot.of("bar") == 5061)
        // Only the hash tag counts, when there is a non-empty one.
        #expect(RedisHashSlot.of("{user1000}.following") == RedisHashSlot.of("{user1000}.followers"))
        #expect(RedisHashSlot.of("danmaku:{lobby}:seq") == RedisHashSlot.of("lobby"))
        #expect(RedisHashSlot.of("foo{}{bar}") == Int(RedisHashSlot.crc16(Array("foo{}{bar}".utf8))) % 16384)
        #expect(RedisHashSlot.of("foo{{bar}}zap") == RedisHashSlot.of("{bar"))
        #expect(RedisHashSlot.of("foo{bar}{zap}") == RedisHashSlot.of("bar"))
    }

    @Test func theSlotMapNamesTheMasterOfEverySlot() throws {
        func node(_ host: String, _ port: Int64) -> RESPValue {
            .array([.bulkString(ByteBuffer(string: host)), .integer(port), .bulkString(ByteBuffer(string: "id-\(port)"))])
        }
        let reply = RESPValue.array([
            .array([.integer(0), .integer(5460), node("127.0.0.1", 7000), node("127.0.0.1", 7003)]),
            .array([.integer(5461), .integer(10922), node("", 7001)]),
            .array([.integer(10923), .integer(16383), node("127.0.0.2", 7002)]),
        ])
        var topology = try #require(RedisClusterTopology(clusterSlots: reply, askedHost: "10.0.0.9"))
        #expect(topology.owner(ofSlot: 0) == RedisNode(host: "127.0.0.1", port: 7000))
        #expect(topology.owner(ofSlot: 5460) == RedisNode(host: "127.0.0.1", port: 7000))
        #expect(topology.owner(ofSlot: 5461) == RedisNode(host: "10.0.0.9", port: 7001), "an empty host is the node asked")
        #expect(topology.owner(ofSlot: 16383) == RedisNode(host: "127.0.0.2", port: 7002))
        topology.assign(slot: 42, to: RedisNode(host: "127.0.0.1", port: 7001))
        #expect(topology.owner(ofSlot: 42) == RedisNode(host: "127.0.0.1", port: 7001))
        #expect(topology.owner(ofSlot: 41) == RedisNode(host: "127.0.0.1", port: 7000))
    }

    @Test func aMalformedSlotMapIsRefused() {
        #expect(RedisClusterTopology(clusterSlots: .integer(1), askedHost: "h") == nil)
        #expect(RedisClusterTopology(clusterSlots: .array([.array([.integer(10), .integer(2), .array([])])]), askedHost: "h") == nil)
        #expect(RedisClusterTopology(clusterSlots: .array([.array([.integer(0), .integer(99999), .array([.bulkString(ByteBuffer(string: "h")), .integer(1)])])]), askedHost: "h") == nil)
    }

    @Test func redirectionsNameHostAndPort() {
        #expect(RedisNode(redirection: "127.0.0.1:6381") == RedisNode(host: "127.0.0.1", port: 6381))
        #expect(RedisNode(redirection: "::1:6381") == RedisNode(host: "::1", port: 6381))
        #expect(RedisNode(redirection: "host:99999") == nil)
        #expect(RedisNode(redirection: ":6379") == nil)
    }
}
