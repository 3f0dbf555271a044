import DanmakuRedis
import DanmakuTestSupport
import Logging
import NIOCore
import NIOPosix
import Testing

/// Logging in to a real `redis-server` with ACL users: `AUTH` on every connection, and a refusal
/// that stops the client instead of a retry loop.
@Suite struct RedisAuthTests {
    func client(_ server: RedisServer, user: String?, password: String?) -> RedisClient {
        var logger = Logger(label: "redis-auth-test")
        logger.logLevel = .critical
        return RedisClient(
            address: RedisAddress(host: "127.0.0.1", port: server.port, username: user, password: password),
            eventLoop: MultiThreadedEventLoopGroup.singleton.next(), logger: logger)
    }

    @Test func logsInAsItsUserOnEveryConnectionIncludingReconnects() async throws {
        try await RedisServer.with { server in
            #expect(try await server.command(["ACL", "SETUSER", "danmaku", "on", ">s3cret", "~*", "&*", "+@all"]).hasPrefix("+OK"))
            let client = client(server, user: "danmaku", password: "s3cret")
            client.start()
            try await client.waitForConnection()
            #expect(try await client.send(RESPCommand("ACL", ["WHOAMI"])).string == "danmaku")
            // The server drops every connection of the user: the client connects and logs in again.
            #expect(try await server.command(["CLIENT", "KILL", "USER", "danmaku"]).hasPrefix(":"))
            var whoami: String?
            for _ in 0..<100 where whoami == nil {
                whoami = try? await client.send(RESPCommand("ACL", ["WHOAMI"])).string
                if whoami == nil { try await Task.sleep(for: .milliseconds(50)) }
            }
            #expect(whoami == "danmaku")
            await client.close()
        }
    }

    @Test func aWrongPasswordIsRefusedOnceNotRetried() async throws {
        try await RedisServer.with { server in
            _ = try await server.command(["ACL", "SETUSER", "danmaku", "on", ">s3cret", "~*", "&*", "+@all"])
            let client = client(server, user: "danmaku", password: "wrong")
            client.start()
            let started = ContinuousClock.now
            await #expect(throws: RedisError.self) { try await client.waitForConnection(timeout: .seconds(5)) }
            #expect(ContinuousClock.now - started < .seconds(2), "a refusal is reported at once, not after the timeout")
            let refusal = try #require(client.refusal)
            #expect("\(refusal)".contains("WRONGPASS"))
            // No retry loop: a second later the server has logged one failed login, not one per backoff.
            try await Task.sleep(for: .seconds(1))
            let observer = self.client(server, user: nil, password: nil)
            observer.start()
            try await observer.waitForConnection()
            let log = try await observer.send(RESPCommand("ACL", ["LOG"])).array ?? []
            await observer.close()
            // Each entry is a flat list of names and values; repeats of one failure are counted.
            let failures = log.compactMap { entry -> Int64? in
                let fields = entry.array ?? []
                let pairs = stride(from: 0, to: fields.count - 1, by: 2).map { (fields[$0].string ?? "", fields[$0 + 1]) }
                guard pairs.contains(where: { $0.0 == "reason" && $0.1.string == "auth" }) else { return nil }
                return pairs.first { $0.0 == "count" }?.1.integer
            }
            #expect(failures == [1], "\(log)")
            await client.close()
        }
    }

    @Test func addressesCarryUserPasswordAndDatabaseAndNeverPrintThePassword() throws {
        let full = try #require(RedisAddress(url: "redis://app:p%40ss@cache:6380/2"))
        #expect(full == RedisAddress(host: "cache", port: 6380, username: "app", password: "p@ss", database: 2))
        #expect("\(full)" == "redis://app:***@cache:6380/2")
        let passwordOnly = try #require(RedisAddress(url: "redis://:secret@cache"))
        #expect(passwordOnly.username == nil && passwordOnly.password == "secret")
        #expect(!"\(passwordOnly)".contains("secret"))
        for bad in ["redis://u:p@", "redis://h/x", "redis://h/-1", "redis://h/99999", "redis://u:%zz@h"] {
            #expect(RedisAddress(url: bad) == nil, "\(bad)")
        }
    }

    @Test func sentinelAddressesNameTheSentinelsAndThePrimary() throws {
        let address = try #require(RedisAddress(url: "redis-sentinel://app:pw@s1:26380,s2,10.0.0.3:26381/main/3"))
        #expect(address.sentinel == RedisSentinels(
            nodes: [RedisNode(host: "s1", port: 26380), RedisNode(host: "s2", port: 26379), RedisNode(host: "10.0.0.3", port: 26381)],
            masterName: "main"))
        #expect(address.username == "app" && address.password == "pw" && address.database == 3)
        #expect("\(address)" == "redis-sentinel://app:***@s1:26380,s2:26379,10.0.0.3:26381/main/3")
        for bad in ["redis-sentinel://s1", "redis-sentinel://s1/", "redis-sentinel:///main", "redis-sentinel://s1:0/main", "redis-sentinel://s1/main/x"] {
            #expect(RedisAddress(url: bad) == nil, "\(bad)")
        }
    }
}
