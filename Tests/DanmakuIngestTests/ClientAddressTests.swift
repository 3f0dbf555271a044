import DanmakuIngest
import NIOCore
import NIOHTTP1
import Testing

@Suite struct ClientAddressTests {
    let proxy = try! SocketAddress(ipAddress: "10.1.2.3", port: 5000)
    let stranger = try! SocketAddress(ipAddress: "203.0.113.9", port: 5000)

    @Test func ipv6ClientsAreCountedPerSlash64() {
        #expect(ClientAddress.key("2001:db8:1:2:aaaa::1") == "2001:db8:1:2::/64")
        #expect(ClientAddress.key("2001:db8:1:2:bbbb:cccc:dddd:eeee") == "2001:db8:1:2::/64")
        #expect(ClientAddress.key("2001:db8:1:3::1") == "2001:db8:1:3::/64")
        #expect(ClientAddress.key("192.0.2.7") == "192.0.2.7")
    }

    @Test func onlyATrustedProxyMayNameTheClient() throws {
        let addresses = try #require(ClientAddress(trustedProxies: "10.0.0.0/8, ::1"))
        let headers = HTTPHeaders([("X-Forwarded-For", "198.51.100.4")])
        #expect(addresses.key(peer: proxy, headers: headers) == "198.51.100.4")
        #expect(addresses.key(peer: stranger, headers: headers) == "203.0.113.9", "anyone else's header is ignored")
        #expect(ClientAddress().key(peer: proxy, headers: headers) == "10.1.2.3", "no proxies trusted by default")
        #expect(addresses.isTrustedProxy(proxy) && !addresses.isTrustedProxy(stranger))
    }

    @Test func theNearestUntrustedAddressInTheChainIsTheClient() throws {
        let addresses = try #require(ClientAddress(trustedProxies: "10.0.0.0/8"))
        // The client claims to be 1.1.1.1; the proxies saw 198.51.100.4 and then 10.9.9.9.
        let chain = HTTPHeaders([("X-Forwarded-For", "1.1.1.1, 198.51.100.4"), ("X-Forwarded-For", "10.9.9.9")])
        #expect(addresses.key(peer: proxy, headers: chain) == "198.51.100.4")
        let forwarded = HTTPHeaders([("Forwarded", #"for=1.1.1.1, for="[2001:db8:5:6::9]:4711";proto=https"#)])
        let forwardedProxies = try #require(ClientAddress(trustedProxies: "10.0.0.0/8", header: .forwarded))
        #expect(forwardedProxies.key(peer: proxy, headers: forwarded) == "2001:db8:5:6::/64")
        let garbage = HTTPHeaders([("X-Forwarded-For", "not-an-address")])
        #expect(addresses.key(peer: proxy, headers: garbage) == "10.1.2.3", "an unreadable header counts the proxy")
    }

    /// A proxy appends to the header it uses and passes the other through as the client sent it:
    /// only the header the operator names (`--client-address-header`) is read.
    @Test func onlyTheNamedHeaderNamesTheClient() throws {
        let both = HTTPHeaders([("Forwarded", "for=1.1.1.1"), ("X-Forwarded-For", "198.51.100.4")])
        let appendingXFF = try #require(ClientAddress(trustedProxies: "10.0.0.0/8"))
        #expect(appendingXFF.header == .xForwardedFor, "X-Forwarded-For by default")
        #expect(appendingXFF.key(peer: proxy, headers: both) == "198.51.100.4", "the client's own Forwarded is not read")
        let appendingForwarded = try #require(ClientAddress(trustedProxies: "10.0.0.0/8", header: .forwarded))
        #expect(appendingForwarded.key(peer: proxy, headers: both) == "1.1.1.1")
        let onlyXFF = HTTPHeaders([("X-Forwarded-For", "198.51.100.4")])
        #expect(appendingForwarded.key(peer: proxy, headers: onlyXFF) == "10.1.2.3", "the client's own X-Forwarded-For is not read")
    }

    /// Behind `--host ::` every IPv4 client arrives as `::ffff:a.b.c.d`: it is counted as that
    /// IPv4 address, not under the one /64 every IPv4 client would share.
    @Test func ipv4MappedAddressesAreTheirIPv4Address() throws {
        #expect(ClientAddress.key("::ffff:198.51.100.4") == "198.51.100.4")
        #expect(ClientAddress.key("::ffff:c633:6405") == "198.51.100.5", "the same address written in hex")
        #expect(ClientAddress.key("::ffff:198.51.100.4") != ClientAddress.key("::ffff:203.0.113.9"))
        #expect(ClientAddress.key("64:ff9b::198.51.100.4") == "64:ff9b:0:0::/64", "only the mapped prefix is IPv4")
        let mappedPeer = try SocketAddress(ipAddress: "::ffff:203.0.113.9", port: 5000)
        #expect(ClientAddress().key(peer: mappedPeer) == "203.0.113.9")
        // A proxy reached over IPv4 on a dual-stack socket is the IPv4 proxy the operator trusts,
        // and a mapped address in its header is the IPv4 client.
        let addresses = try #require(ClientAddress(trustedProxies: "10.0.0.0/8"))
        let mappedProxy = try SocketAddress(ipAddress: "::ffff:10.1.2.3", port: 5000)
        #expect(addresses.isTrustedProxy(mappedProxy))
        let headers = HTTPHeaders([("X-Forwarded-For", "::ffff:198.51.100.4")])
        #expect(addresses.key(peer: mappedProxy, headers: headers) == "198.51.100.4")
        #expect(ClientAddress.Network("::ffff:10.0.0.0/104")?.contains("10.200.0.1") == true)
        #expect(ClientAddress.Network("::ffff:10.0.0.0/104")?.contains("::ffff:10.200.0.1") == true)
    }

    @Test func networksParseAndMatch() {
        #expect(ClientAddress(trustedProxies: "10.0.0.0/33") == nil)
        #expect(ClientAddress(trustedProxies: "nonsense") == nil)
        #expect(ClientAddress.Network("127.0.0.0/8")?.contains("127.200.0.1") == true)
        #expect(ClientAddress.Network("127.0.0.0/8")?.contains("128.0.0.1") == false)
        #expect(ClientAddress.Network("2001:db8::/32")?.contains("2001:db8:ffff::1") == true)
        #expect(ClientAddress.Network("192.0.2.1")?.contains("192.0.2.1") == true)
    }
}
