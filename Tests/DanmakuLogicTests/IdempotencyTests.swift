import DanmakuBus
import DanmakuCore
import DanmakuLogic
import NIOEmbedded
import Testing

/// `Idempotency-Key` on the memory bus: a retry gets the first answer and never stores twice.
@Suite struct IdempotencyTests {
    let room = RoomID("r1")!

    private func key(_ value: String) -> IdempotencyKey {
        try! IdempotencyKey.parse(value).get()!
    }

    private func history(_ bus: MemoryBus) async throws -> Int {
        try await bus.snapshot(room: room, since: 0, limit: 100, on: EmbeddedEventLoop()).get().comments.count
    }

    @Test func theSameKeyTwiceGetsTheFirstAnswerAndStoresOnce() async throws {
        let bus = MemoryBus(historyCapacity: 100)
        let service = LogicTier(configuration: LogicConfiguration(), log: bus, bus: bus)
        let request = CommentRequest(text: "once")
        let first = try await service.posts.post(room: room, request: request, token: nil, clientAddress: "1.1.1.1", idempotencyKey: key("k-1")).get()
        let retry = try await service.posts.post(room: room, request: request, token: nil, clientAddress: "1.1.1.1", idempotencyKey: key("k-1")).get()
        #expect(retry == first)
        #expect(try await history(bus) == 1)
    }

    /// A key used again for another text is refused, not answered with the first receipt (which
    /// would say the second text was stored).
    @Test func aKeyUsedAgainForAnotherRequestIsRefused() async throws {
        let bus = MemoryBus(historyCapacity: 100)
        let service = LogicTier(configuration: LogicConfiguration(), log: bus, bus: bus)
        _ = try await service.posts.post(
            room: room, request: CommentRequest(text: "first body"), token: nil, clientAddress: "1.1.1.1", idempotencyKey: key("k1")).get()
        let reused = await service.posts.post(
            room: room, request: CommentRequest(text: "second body"), token: nil, clientAddress: "1.1.1.1", idempotencyKey: key("k1"))
        guard case .failure(let error) = reused else { Issue.record("answered \(reused)"); return }
        #expect(error.code == "idempotency_key_reused" && error.status == 422)
        #expect(try await history(bus) == 1)
    }

    @Test func differentPrincipalsWithTheSameKeyAreIndependent() async throws {
        let bus = MemoryBus(historyCapacity: 100)
        let service = LogicTier(configuration: LogicConfiguration(), log: bus, bus: bus)
        let request = CommentRequest(text: "hello")
        let one = try await service.posts.post(room: room, request: request, token: nil, clientAddress: "1.1.1.1", idempotencyKey: key("shared")).get()
        let other = try await service.posts.post(room: room, request: request, token: nil, clientAddress: "2.2.2.2", idempotencyKey: key("shared")).get()
        #expect(one.id != other.id)
        let oneAgain = try await service.posts.post(room: room, request: request, token: nil, clientAddress: "1.1.1.1", idempotencyKey: key("shared")).get()
        #expect(oneAgain == one)
        #expect(try await history(bus) == 2)
    }

    /// A refusal stored nothing: the retry with the same key is tried afresh, and what it stores
    /// is what later retries get.
    @Test func aRefusedPostDoesNotTakeItsKey() async throws {
        let bus = MemoryBus(historyCapacity: 100)
        let service = LogicTier(configuration: LogicConfiguration(), log: bus, bus: bus)
        let refused = await service.posts.post(
            room: room, request: CommentRequest(text: "fuck"), token: nil, clientAddress: "1.1.1.1", idempotencyKey: key("k"))
        #expect((try? refused.get()) == nil)
        let stored = try await service.posts.post(
            room: room, request: CommentRequest(text: "fine words"), token: nil, clientAddress: "1.1.1.1", idempotencyKey: key("k")).get()
        let retry = try await service.posts.post(
            room: room, request: CommentRequest(text: "fine words"), token: nil, clientAddress: "1.1.1.1", idempotencyKey: key("k")).get()
        #expect(retry == stored)
        #expect(try await history(bus) == 1)
    }

    /// A store that may have run keeps the key: the retry is refused, never stored a second time,
    /// even with the duplicate window off.
    @Test func anOutcomeUnknownStoreKeepsTheKeyReserved() async throws {
        var configuration = LogicConfiguration()
        configuration.duplicateWindowSeconds = 0
        let log = FlakyLog(failures: 1, storesAnyway: true)
        let service = LogicTier(configuration: configuration, log: log, bus: log.memory)
        let request = CommentRequest(text: "maybe")
        let first = await service.posts.post(room: room, request: request, token: nil, clientAddress: "1.1.1.1", idempotencyKey: key("k"))
        guard case .failure(let unknown) = first else { Issue.record("the answer was lost, yet: \(first)"); return }
        #expect(unknown.status == 503)
        let retry = await service.posts.post(room: room, request: request, token: nil, clientAddress: "1.1.1.1", idempotencyKey: key("k"))
        guard case .failure(let refused) = retry else { Issue.record("stored twice: \(retry)"); return }
        #expect(refused.code == "idempotency_outcome_unknown" && refused.status == 409)
        let stored = try await log.memory.snapshot(room: room, since: 0, limit: 10, on: EmbeddedEventLoop()).get()
        #expect(stored.comments.count == 1)
    }

    @Test func keysAreCheckedPrintableASCIIOfBoundedLength() {
        #expect((try? IdempotencyKey.parse(nil).get()) == .some(nil))
        #expect((try? IdempotencyKey.parse(String(repeating: "a", count: 128)).get()) != nil)
        for bad in ["", String(repeating: "a", count: 129), "has space", "tab\t", "é"] {
            guard case .failure(let error) = IdempotencyKey.parse(bad) else { Issue.record("took \(bad)"); continue }
            #expect(error.code == "invalid_idempotency_key" && error.status == 400)
        }
    }

    /// The memory store holds at most its capacity, forgetting the oldest key first.
    @Test func theMemoryStoreIsBounded() async throws {
        let store = MemoryIdempotency(capacity: 3)
        for n in 0..<5 {
            #expect(try await store.reserve(IdempotencySlot(scope: "r", principal: "u", key: "\(n)"), window: .seconds(60)) == nil)
        }
        #expect(store.count == 3)
        #expect(try await store.reserve(IdempotencySlot(scope: "r", principal: "u", key: "4"), window: .seconds(60)) == .inFlight)
        #expect(try await store.reserve(IdempotencySlot(scope: "r", principal: "u", key: "0"), window: .seconds(60)) == nil)
    }
}
