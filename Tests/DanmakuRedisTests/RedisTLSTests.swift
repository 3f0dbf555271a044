import DanmakuRedis
import DanmakuTestSupport
import Logging
import NIOCore
import NIOPosix
import Testing

/// `rediss://` against a real `redis-server` with a TLS port and certificates made by a test CA.
@Suite struct RedisTLSTests {
    func client(port: Int, caFile: String) -> RedisClient {
        var logger = Logger(label: "redis-tls-test")
        logger.logLevel = .critical
        return RedisClient(
            address: RedisAddress(host: "127.0.0.1", port: port, tls: RedisTLS(caFile: caFile)),
            eventLoop: MultiThreadedEventLoopGroup.singleton.next(), logger: logger)
    }

    /// Runs `body` with a redis-server that also listens with TLS, on the port `body` is given.
    func withTLSServer(_ body: (TestCertificates, Int) async throws -> Void) async throws {
        let certificates = try TestCertificates.make()
        let tlsPort = try RedisServer.freePort()
        try await RedisServer.with(extraArguments: certificates.redisArguments(tlsPort: tlsPort)) { _ in
            try await body(certificates, tlsPort)
        }
    }

    @Test func talksToRedisOverTLSWithTheRightCA() async throws {
        try await withTLSServer { certificates, tlsPort in
            let client = client(port: tlsPort, caFile: certificates.caFile)
            client.start()
            try await client.waitForConnection()
            #expect(try await client.send(RESPCommand("SET", ["over", "tls"])).string == "OK")
            #expect(try await client.send(RESPCommand("GET", ["over"])).string == "tls")
            await client.close()
        }
    }

    @Test func aServerTheCADoesNotVouchForIsRefusedAtOnce() async throws {
        try await withTLSServer { certificates, tlsPort in
            let client = client(port: tlsPort, caFile: certificates.otherCAFile)
            client.start()
            let started = ContinuousClock.now
            await #expect(throws: RedisError.self) { try await client.waitForConnection(timeout: .seconds(5)) }
            #expect(ContinuousClock.now - started < .seconds(2))
            let refusal = try #require(client.refusal)
            #expect("\(refusal)".contains("TLS handshake failed"), "\(refusal)")
            await client.close()
        }
    }

    @Test func redissURLsAskForTLS() throws {
        let address = try #require(RedisAddress(url: "rediss://app:pw@cache.example:6380"))
        #expect(address.tls == RedisTLS())
        #expect("\(address)" == "rediss://app:***@cache.example:6380")
        #expect(RedisAddress(url: "redis://cache")?.tls == nil)
    }
}
