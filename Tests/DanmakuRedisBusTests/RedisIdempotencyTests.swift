import DanmakuBus
import DanmakuCore
import DanmakuLogic
@testable import DanmakuRedisBus
import DanmakuTestSupport
import Logging
import NIOCore
import NIOPosix
import Testing

/// `Idempotency-Key` across logic nodes: two logic tiers, each on its own Redis connection,
/// share the keys, so a retry that lands on the other node still stores once.
@Suite struct RedisIdempotencyTests {
    let room = RoomID("idem")!

    func node(_ server: RedisServer) -> (RedisBus, LogicTier) {
        var logger = Logger(label: "idem-test")
        logger.logLevel = .critical
        let bus = RedisBus(
            address: .init(host: "127.0.0.1", port: server.port), eventLoop: MultiThreadedEventLoopGroup.singleton.next(),
            historyCapacity: 50, publishWindow: .milliseconds(5), commandTimeout: .seconds(2), logger: logger)
        bus.start()
        var configuration = LogicConfiguration()
        // Off, so that only the key can keep a retry from being stored.
        configuration.duplicateWindowSeconds = 0
        let service = LogicTier(configuration: configuration, log: bus, bus: bus, idempotency: RedisIdempotency(bus: bus))
        return (bus, service)
    }

    func key(_ value: String) -> IdempotencyKey? {
        try? IdempotencyKey.parse(value).get()
    }

    /// In open mode an address is one anonymous author on every node (the salt is the
    /// deployment's, in Redis): each node hashed with a salt of its own, so a retry on another
    /// node was another principal's post and stored a second copy.
    @Test func anAddressIsTheSameAnonymousAuthorOnEveryNode() async throws {
        try await RedisServer.with { server in
            let (busA, _) = node(server)
            let (busB, _) = node(server)
            try await busA.waitForConnection()
            try await busB.waitForConnection()
            let nodeA = AnonymousIdentity(fetchSalt: { try await busA.anonymousSalt() })
            let nodeB = AnonymousIdentity(fetchSalt: { try await busB.anonymousSalt() })
            let first = try await nodeA.author(forAddress: "198.51.100.7")
            #expect(try await nodeB.author(forAddress: "198.51.100.7") == first)
            #expect(try await nodeB.author(forAddress: "198.51.100.8") != first)
            #expect(first.id.hasPrefix("anon-") && !first.id.contains("198"))
            // Another deployment (another salt) gives the address another id.
            #expect(try await AnonymousIdentity().author(forAddress: "198.51.100.7") != first)
            await busA.shutdown()
            await busB.shutdown()
        }
    }

    /// A salt Redis lost (a restart without persistence, a failover) is made anew, and every node
    /// moves to it at its next read; a value that cannot be a salt is replaced, not an error for
    /// good.
    @Test func everyNodeMovesToASaltMadeAnew() async throws {
        try await RedisServer.with { server in
            let (busA, _) = node(server)
            let (busB, _) = node(server)
            try await busA.waitForConnection()
            try await busB.waitForConnection()
            let nodeA = AnonymousIdentity(refresh: .zero, fetchSalt: { try await busA.anonymousSalt() })
            let nodeB = AnonymousIdentity(refresh: .zero, fetchSalt: { try await busB.anonymousSalt() })
            let before = try await nodeA.author(forAddress: "198.51.100.7")
            _ = try await server.command(["FLUSHALL"])
            let after = try await nodeB.author(forAddress: "198.51.100.7")
            #expect(after != before, "a new salt, a new id")
            #expect(try await nodeA.author(forAddress: "198.51.100.7") == after, "both nodes on the new salt")
            _ = try await server.command(["SET", "danmaku:anonymous-salt", "abcd"])
            let replaced = try await nodeA.author(forAddress: "198.51.100.7")
            #expect(try await nodeB.author(forAddress: "198.51.100.7") == replaced)
            _ = try await server.command(["DEL", "danmaku:anonymous-salt"])
            _ = try await server.command(["LPUSH", "danmaku:anonymous-salt", "x"])
            #expect(try await nodeA.author(forAddress: "198.51.100.7").id.hasPrefix("anon-"), "another type is replaced too")
            await busA.shutdown()
            await busB.shutdown()
        }
    }

    @Test func twoLogicNodesStoreAKeyedPostOnce() async throws {
        try await RedisServer.with { server in
            let (busA, nodeA) = node(server)
            let (busB, nodeB) = node(server)
            do {
                try await exercise(busA, nodeA, busB, nodeB)
            } catch {
                await busA.shutdown()
                await busB.shutdown()
                throw error
            }
            await busA.shutdown()
            await busB.shutdown()
        }
    }

    func exercise(_ busA: RedisBus, _ nodeA: LogicTier, _ busB: RedisBus, _ nodeB: LogicTier) async throws {
        try await busA.waitForConnection()
        try await busB.waitForConnection()
        let request = CommentRequest(text: "across nodes")

        let first = try await nodeA.posts.post(room: room, request: request, token: nil, clientAddress: "1.1.1.1", idempotencyKey: key("k-1")).get()
        let retry = try await nodeB.posts.post(room: room, request: request, token: nil, clientAddress: "1.1.1.1", idempotencyKey: key("k-1")).get()
        #expect(retry == first)

        // Sent at once to both nodes: one stores, the other answers the first's receipt or
        // 409 idempotency_in_progress, never a second comment.
        async let onA = nodeA.posts.post(room: room, request: request, token: nil, clientAddress: "1.1.1.1", idempotencyKey: key("k-2"))
        async let onB = nodeB.posts.post(room: room, request: request, token: nil, clientAddress: "1.1.1.1", idempotencyKey: key("k-2"))
        let answers = await [onA, onB]
        let receipts = answers.compactMap { try? $0.get() }
        #expect(!receipts.isEmpty && Set(receipts.map(\.id)).count == 1, "\(answers)")
        for case .failure(let error) in answers { #expect(error.code == "idempotency_in_progress") }

        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let history = try await busA.snapshot(room: room, since: 0, limit: 10, on: loop).get()
        #expect(history.comments.count == 2)
    }

    @Test func recordsLiveInTheSlotOfTheirRoomOrVideo() {
        let slot = IdempotencySlot(scope: "video:v1", principal: "u:1", key: "k")
        #expect(RedisIdempotency.key(slot) == "danmaku:{video:v1}:idem:3:u:1:k")
    }
}
