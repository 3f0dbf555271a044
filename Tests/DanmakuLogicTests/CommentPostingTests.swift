import Crypto
import DanmakuBus
import DanmakuCore
import DanmakuLogic
import Foundation
import NIOCore
import NIOEmbedded
import Synchronization
import Testing

@Suite struct CommentPostingTests {
    let room = RoomID("r1")!
    let author = CommentAuthor(id: "u1", name: "Ann")

    func makeService(_ adjust: (inout LogicConfiguration) -> Void = { _ in }) -> (LogicTier, MemoryBus) {
        var configuration = LogicConfiguration()
        configuration.userLimit = RateLimit(perSecond: 1000, burst: 1000)
        configuration.ipLimit = RateLimit(perSecond: 1000, burst: 1000)
        configuration.words = ["bad"]
        adjust(&configuration)
        let bus = MemoryBus(historyCapacity: 5)
        return (LogicTier(configuration: configuration, log: bus, bus: bus), bus)
    }

    func history(_ bus: MemoryBus, since: UInt64? = 0) throws -> HistorySnapshot {
        try bus.snapshot(room: room, since: since, limit: 100, on: EmbeddedEventLoop()).wait()
    }

    @Test func assignsConsecutiveSeqsAndStores() async throws {
        let (service, bus) = makeService()
        for index in 1...3 {
            let accepted = try await service.posts.submit(
                room: room, request: CommentRequest(text: "hello \(index)"), author: author, clientAddress: "1.1.1.1"
            ).get()
            #expect(accepted.comment.seq == UInt64(index))
            #expect(try accepted.encoded.decoded() == accepted.comment)
        }
        #expect(try history(bus).comments.map(\.seq) == [1, 2, 3])
    }

    /// The window is measured from the comment's `ts`: stored comments of chosen ages stand in
    /// for waiting out the window.
    @Test func anAuthorMayRecallOnlyWithinTheWindow() async throws {
        let (service, bus) = makeService { $0.recallSeconds = 10 }
        let me = AnonymousIdentity.author(forAddress: "1.1.1.1")
        func stored(ageSeconds: Int64) async throws -> String {
            let id = UUID().uuidString
            let ts = currentTimeMillis() - ageSeconds * 1000
            let json = Comment(seq: 0, id: id, room: room.value, user: me, text: "t", color: "#ffffff", mode: .scroll, ts: ts).unnumberedJSON()
            _ = try await bus.append(room: room, unnumbered: json)
            return id
        }
        let fresh = try await stored(ageSeconds: 8)
        let stale = try await stored(ageSeconds: 11)
        let loop = EmbeddedEventLoop()
        let late = await service.moderationActions.recall(room: room, id: stale, token: nil, clientAddress: "1.1.1.1", on: loop)
        guard case .failure(let error) = late else { Issue.record("recalled past the window"); return }
        #expect(error.code == "recall_expired")
        let strangers = await service.moderationActions.recall(room: room, id: fresh, token: nil, clientAddress: "2.2.2.2", on: loop)
        guard case .failure(let notYours) = strangers else { Issue.record("recalled someone else's comment"); return }
        #expect(notYours.code == "forbidden")
        #expect(try await service.moderationActions.recall(room: room, id: fresh, token: nil, clientAddress: "1.1.1.1", on: loop).get() == 1)
        #expect(try history(bus).comments.map(\.seq) == [2])
    }

    /// A recall finds its comment by id in the store instead of reading the room's history out,
    /// and each one is charged to the address's read budget, so ids that are not there cannot be
    /// tried for free.
    @Test func aRecallLooksItsCommentUpByIDAndIsBudgeted() async throws {
        var configuration = LogicConfiguration()
        configuration.userLimit = RateLimit(perSecond: 1000, burst: 1000)
        configuration.ipLimit = RateLimit(perSecond: 1000, burst: 1000)
        configuration.readLimit = RateLimit(perSecond: 0.001, burst: 2)
        configuration.recallSeconds = 60
        let log = HistoryReadCountingLog()
        let service = LogicTier(configuration: configuration, log: log, bus: log.memory)
        let me = AnonymousIdentity.author(forAddress: "1.1.1.1")
        var ids: [String] = []
        for index in 0..<50 {
            let accepted = try await service.posts.submit(room: room, request: CommentRequest(text: "words \(index)"), author: me, clientAddress: "1.1.1.1").get()
            ids.append(accepted.comment.id)
        }
        let loop = EmbeddedEventLoop()
        #expect(try await service.moderationActions.recall(room: room, id: ids[49], token: nil, clientAddress: "1.1.1.1", on: loop).get() == 50)
        #expect(log.historyReads.withLock { $0 } == 0, "no history is read out of the store")
        let missing = await service.moderationActions.recall(room: room, id: "no-such-comment", token: nil, clientAddress: "1.1.1.1", on: loop)
        #expect((try? missing.get()) == nil && missing.errorCode == "not_found")
        let spent = await service.moderationActions.recall(room: room, id: ids[48], token: nil, clientAddress: "1.1.1.1", on: loop)
        #expect(spent.errorCode == "rate_limited", "\(spent)")
        #expect(try history(log.memory).comments.count == 49, "the refused recall took nothing back")
    }

    @Test func aRoomMayKeepStylesForItsStaff() async throws {
        let moderation = MemoryModeration()
        let bus = MemoryBus(historyCapacity: 10)
        var configuration = LogicConfiguration()
        configuration.userLimit = RateLimit(perSecond: 1000, burst: 1000)
        let service = LogicTier(configuration: configuration, log: bus, bus: bus, moderation: moderation)
        let streamer = CommentAuthor(id: "s1", name: "Streamer", role: "streamer")
        func post(_ request: CommentRequest, as who: CommentAuthor) async -> String {
            switch await service.posts.submit(room: room, request: request, author: who, clientAddress: "1.1.1.1") {
            case .success: "accepted"
            case .failure(let error): error.code
            }
        }
        let styled = [CommentRequest(text: "a", color: "#FF0000"), CommentRequest(text: "b", mode: "reverse"), CommentRequest(text: "c", size: "large")]
        // Everyone may, until the room says otherwise.
        #expect(await post(CommentRequest(text: "before", color: "#FF0000"), as: author) == "accepted")
        try await moderation.update(RoomSettings(stylesFor: .staff), room: room)
        for request in styled { #expect(await post(request, as: author) == "style_not_allowed", "\(request)") }
        #expect(await post(CommentRequest(text: "plain", color: "#FFFFFF", mode: "scroll", size: "normal"), as: author) == "accepted")
        // The refused words, without their style, are not taken for a duplicate.
        #expect(await post(CommentRequest(text: "a"), as: author) == "accepted")
        for request in styled { #expect(await post(request, as: streamer) == "accepted", "\(request)") }
        #expect(try history(bus).comments.count == 6)
    }

    @Test func rejectedCommentsAreNeverStored() async throws {
        let (service, bus) = makeService()
        let cases: [(CommentRequest, String)] = [
            (CommentRequest(text: "so BAD"), "filtered"),
            (CommentRequest(text: ""), "invalid_text"),
            (CommentRequest(text: "x", color: "blue"), "invalid_color"),
        ]
        for (request, code) in cases {
            let result = await service.posts.submit(room: room, request: request, author: author, clientAddress: "1.1.1.1")
            guard case .failure(let error) = result else { Issue.record("accepted \(request)"); return }
            #expect(error.code == code)
        }
        #expect(try history(bus).lastSeq == 0)
    }

    @Test func maskPolicyAcceptsWithStars() async throws {
        let (service, _) = makeService { $0.filterPolicy = .mask }
        let accepted = try await service.posts.submit(
            room: room, request: CommentRequest(text: "so ＢＡＤ!"), author: author, clientAddress: "1.1.1.1"
        ).get()
        #expect(accepted.comment.text == "so ***!")
    }

    @Test func suppressesDuplicatesPerUser() async throws {
        let (service, _) = makeService()
        _ = try await service.posts.submit(room: room, request: CommentRequest(text: "Same"), author: author, clientAddress: "a").get()
        let again = await service.posts.submit(room: room, request: CommentRequest(text: "ｓａｍｅ "), author: author, clientAddress: "a")
        guard case .failure(let error) = again else { Issue.record("duplicate accepted"); return }
        #expect(error.code == "duplicate" && error.status == 409)
        let other = CommentAuthor(id: "u2", name: "Bo")
        _ = try await service.posts.submit(room: room, request: CommentRequest(text: "Same"), author: other, clientAddress: "a").get()
    }

    @Test func appliesUserRateLimitWithRetryAfter() async throws {
        // One token per 20 s, so a slow machine cannot refill the bucket mid-test.
        let (service, bus) = makeService { $0.userLimit = RateLimit(perSecond: 0.05, burst: 2) }
        for index in 0..<2 {
            _ = try await service.posts.submit(room: room, request: CommentRequest(text: "m\(index)"), author: author, clientAddress: "a").get()
        }
        let limited = await service.posts.submit(room: room, request: CommentRequest(text: "m3"), author: author, clientAddress: "a")
        guard case .failure(let error) = limited else { Issue.record("not limited"); return }
        #expect(error.status == 429 && error.retryAfterSeconds == 20)
        #expect(try history(bus).lastSeq == 2)
    }

    @Test func historyIsBoundedAndReportsWhatItHolds() async throws {
        let (service, bus) = makeService()
        for index in 1...8 {
            _ = try await service.posts.submit(room: room, request: CommentRequest(text: "n\(index)"), author: author, clientAddress: "a").get()
        }
        let snapshot = try history(bus, since: 0)
        #expect(snapshot.lastSeq == 8)
        #expect(snapshot.firstAvailableSeq == 4)
        #expect(snapshot.comments.map(\.seq) == [4, 5, 6, 7, 8])
        #expect(try history(bus, since: 6).comments.map(\.seq) == [7, 8])
        #expect(try history(bus, since: 8).comments.isEmpty)
        #expect(try history(bus, since: nil).comments.count == 5)
    }
}

/// A memory log that counts the history reads (`snapshot`) it answers.
final class HistoryReadCountingLog: CommentLog {
    let memory = MemoryBus(historyCapacity: 1000)
    let historyReads = Mutex(0)

    func append(room: RoomID, unnumbered: ByteBuffer) async throws -> EncodedComment {
        try await memory.append(room: room, unnumbered: unnumbered)
    }

    func snapshot(room: RoomID, since: UInt64?, limit: Int, retracted: Bool, on eventLoop: any EventLoop) -> EventLoopFuture<HistorySnapshot> {
        historyReads.withLock { $0 += 1 }
        return memory.snapshot(room: room, since: since, limit: limit, retracted: retracted, on: eventLoop)
    }

    func comment(room: RoomID, id: String) async throws -> EncodedComment? {
        try await memory.comment(room: room, id: id)
    }

    func retract(room: RoomID, id: String, reason: RetractReason?) async throws -> UInt64? {
        try await memory.retract(room: room, id: id, reason: reason)
    }
}

extension Result where Failure == DanmakuError {
    /// The error's code, nil for a success.
    var errorCode: String? {
        if case .failure(let error) = self { return error.code }
        return nil
    }
}

/// An anonymous author's id: "anon-" and the first 6 bytes of the address's HMAC in hex, the same
/// for the same address under one salt.
@Suite struct AnonymousIdentityTests {
    @Test func theIDIsTheHMACsFirstSixBytesInHex() async throws {
        let salt = Array(repeating: UInt8(7), count: 32)
        let identity = AnonymousIdentity(fetchSalt: { salt })
        let author = try await identity.author(forAddress: "203.0.113.9")
        // HMAC-SHA256(key: 32 × 0x07, "203.0.113.9"), its first 6 bytes.
        let expected = HMAC<SHA256>.authenticationCode(for: Data("203.0.113.9".utf8), using: SymmetricKey(data: salt))
            .prefix(6).map { String(format: "%02x", $0) }.joined()
        #expect(author.id == "anon-" + expected && author.name == "anonymous")
        #expect(try await identity.author(forAddress: "203.0.113.9") == author)
        #expect(try await identity.author(forAddress: "203.0.113.10") != author)
    }

    /// The authors kept for recent addresses are those the salt makes, past the bound of what is
    /// kept, and a new salt's from the moment it is read.
    @Test func keptAuthorsFollowTheSalt() async throws {
        let salts = Mutex([UInt8(1), UInt8(2)])
        let identity = AnonymousIdentity(refresh: .seconds(2), fetchSalt: {
            Array(repeating: salts.withLock { $0.first ?? 0 }, count: 32)
        })
        #expect(identity.knownAuthor(forAddress: "10.0.0.1") == nil, "no salt read yet")
        _ = try await identity.author(forAddress: "10.0.0.1")
        let addresses = (0..<(AnonymousIdentity.recentCapacity + 100)).map { "10.\($0 >> 16).\(($0 >> 8) & 255).\($0 & 255)" }
        for _ in 0..<2 {
            for address in addresses.prefix(300) + addresses.suffix(300) {
                #expect(identity.knownAuthor(forAddress: address) == (try await identity.author(forAddress: address)))
            }
        }
        for address in addresses { _ = identity.knownAuthor(forAddress: address) }
        let first = try #require(identity.knownAuthor(forAddress: "10.0.0.1"))
        salts.withLock { _ = $0.removeFirst() }
        try await Task.sleep(for: .milliseconds(2_200))
        #expect(identity.knownAuthor(forAddress: "10.0.0.1") == nil, "the salt must be read again")
        let next = try await identity.author(forAddress: "10.0.0.1")
        #expect(next != first)
        #expect(identity.knownAuthor(forAddress: "10.0.0.1") == next)
    }
}
