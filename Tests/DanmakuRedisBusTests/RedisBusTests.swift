import DanmakuBus
@testable import DanmakuRedisBus
import DanmakuCore
import DanmakuRedis
import DanmakuTestSupport
import Logging
import NIOCore
import NIOPosix
import Testing

/// Collects what the bus delivers to one subscriber.
final class Inbox: BusSubscriber {
    let seqs = Observed<[UInt64]>([])
    let deliveries = Observed(0)
    func deliver(_ comments: [EncodedComment], room: RoomID) {
        deliveries.update { $0 += 1 }
        seqs.update { $0 += comments.map(\.seq) }
    }

    let retracted = Observed<[UInt64]>([])
    let likes = Observed<[LikeCount]>([])
    func retract(seq: UInt64, id: String, room: RoomID, seqReused: Bool, reason: RetractReason?) {
        retracted.update { $0.append(seq) }
    }

    func liked(_ likes: [LikeCount], room: RoomID) {
        self.likes.update { $0 += likes }
    }

    let renumbered = Observed<[UInt64]>([])
    func renumbered(_ comments: [EncodedComment], room: RoomID) {
        renumbered.update { $0 += comments.map(\.seq) }
    }
}

@Suite struct RedisBusTests {
    let room = RoomID("lobby")!

    func withBus<T>(
        _ server: RedisServer, commandTimeout: TimeAmount = .seconds(2), publishWindow: TimeAmount = .milliseconds(5),
        roomIdleMilliseconds: Int64? = nil, historyCapacity: Int = 50, minReplicas: Int = 0, _ body: (RedisBus) async throws -> T
    ) async throws -> T {
        var logger = Logger(label: "bus-test")
        logger.logLevel = .critical
        let bus = RedisBus(
            address: .init(host: "127.0.0.1", port: server.port), eventLoop: MultiThreadedEventLoopGroup.singleton.next(),
            historyCapacity: historyCapacity, publishWindow: publishWindow, commandTimeout: commandTimeout,
            roomIdleMilliseconds: roomIdleMilliseconds, minReplicas: minReplicas, replicaTimeout: .milliseconds(100), logger: logger)
        bus.start()
        do {
            try await bus.waitForConnection()
            let result = try await body(bus)
            await bus.shutdown()
            return result
        } catch {
            await bus.shutdown()
            throw error
        }
    }

    /// An `Inbox` subscribed to the room, once it has received `count` comments (c0, c1, …)
    /// appended and published through `bus`.
    func subscribedInbox(_ bus: RedisBus, afterPublishing count: Int) async throws -> Inbox {
        let inbox = Inbox()
        try await bus.subscribe(room, subscriber: inbox, on: MultiThreadedEventLoopGroup.singleton.next()).get()
        for index in 0..<count {
            let stored = try await bus.append(room: room, unnumbered: try unnumbered("c\(index)"))
            try await bus.publish([stored], room: room)
        }
        try await inbox.seqs.wait { $0 == Array(1...UInt64(count)) }
        return inbox
    }

    /// As a master promoted in a failover that never received seq 3: its stream and counter end
    /// at 2, and `comment` is stored as the next one, seq 3 again (in one step, so no poll raises
    /// the counter in between).
    func storeAtSeq3AsAPromotedReplicaWould(_ comment: ByteBuffer, on server: RedisServer) async throws {
        let keys = RedisKeys(room)
        let lost = "redis.call('XDEL', KEYS[2], '3-0') redis.call('XSETID', KEYS[2], '2-0') redis.call('SET', KEYS[1], '2') "
        let reply = try await server.command(
            ["EVAL", lost + RedisScripts.append, "\(keys.numbering.count)"] + keys.numbering + [String(buffer: comment), "50", ""])
        #expect(reply.hasPrefix(":3\r\n"), "\(reply)")
    }

    func unnumbered(_ text: String) throws -> ByteBuffer {
        DanmakuCore.Comment(
            seq: 0, id: text, room: room.value, user: CommentAuthor(id: "u", name: "U"), text: text, color: "#ffffff",
            mode: .scroll, ts: 0
        ).unnumberedJSON()
    }

    @Test func appendNumbersInOrderAndHistoryIsTrimmedToAboutItsLength() async throws {
        try await RedisServer.with { server in
            try await withBus(server) { bus in
                for index in 1...300 {
                    let stored = try await bus.append(room: room, unnumbered: try unnumbered("c\(index)"))
                    #expect(stored.seq == UInt64(index))
                    #expect(try stored.decoded().text == "c\(index)")
                }
                let loop = MultiThreadedEventLoopGroup.singleton.next()
                let latest = try await bus.snapshot(room: room, since: nil, limit: 10, on: loop).get()
                #expect(latest.lastSeq == 300)
                #expect(latest.comments.map(\.seq) == Array(291...300))
                let resume = try await bus.snapshot(room: room, since: 295, limit: 100, on: loop).get()
                #expect(resume.comments.map(\.seq) == Array(296...300))
                // Approximate trimming keeps at least the history length, and says where history starts.
                let all = try await bus.snapshot(room: room, since: 0, limit: 1000, on: loop).get()
                #expect(all.comments.count >= 50 && all.comments.count < 300)
                #expect(all.firstAvailableSeq == all.comments.first?.seq)
                let empty = try await bus.snapshot(room: RoomID("nobody")!, since: 0, limit: 10, on: loop).get()
                #expect(empty.lastSeq == 0 && empty.firstAvailableSeq == 1 && empty.comments.isEmpty)
            }
        }
    }

    @Test func commentsPublishedInOneWindowTravelAsOneMessage() async throws {
        try await RedisServer.with { server in
            // A 300 ms window: the 20 publishes below fall into one or two windows however
            // loaded the machine is.
            try await withBus(server, publishWindow: .milliseconds(300)) { bus in
                let inbox = Inbox()
                try await bus.subscribe(room, subscriber: inbox, on: MultiThreadedEventLoopGroup.singleton.next()).get()
                var stored: [EncodedComment] = []
                for index in 1...20 { stored.append(try await bus.append(room: room, unnumbered: try unnumbered("b\(index)"))) }
                for comment in stored { try await bus.publish([comment], room: room) }
                try await inbox.seqs.wait { $0.count >= 20 }
                #expect(inbox.seqs.value == Array(1...20))
                // Published back to back, inside one window: one or two SPUBLISH calls, not 20.
                // (Counted by Redis: the push side may also have read some seqs back by itself
                // when its once-a-second poll saw the counter move before the publish came.)
                func publishCalls() async throws -> Int {
                    let info = try await server.command(["INFO", "commandstats"])
                    return info.firstMatch(of: /cmdstat_spublish:calls=(\d+)/).flatMap { Int($0.1) } ?? 0
                }
                try await eventually("the window's publish") { try await publishCalls() >= 1 }
                try await Task.sleep(for: .milliseconds(400))  // a second window would have closed by now
                #expect(try await publishCalls() <= 2)
                let stats = try await server.command(["PUBSUB", "SHARDNUMSUB", "danmaku:{lobby}:live"])
                #expect(stats.contains(":1"))
            }
        }
    }

    @Test func aStoredCommentWhosePublishWasLostStillReachesSubscribers() async throws {
        try await RedisServer.with { server in
            try await withBus(server) { bus in
                let inbox = Inbox()
                try await bus.subscribe(room, subscriber: inbox, on: MultiThreadedEventLoopGroup.singleton.next()).get()
                // Stored but never published (a logic node that died before its publish window ended).
                _ = try await bus.append(room: room, unnumbered: try unnumbered("lost"))
                _ = try await bus.append(room: room, unnumbered: try unnumbered("lost too"))
                try await inbox.seqs.wait(for: "repair from the stream", timeout: .seconds(5)) { $0.count >= 2 }
                // A gap in the middle of published comments is filled the same way.
                let third = try await bus.append(room: room, unnumbered: try unnumbered("skipped"))
                let fourth = try await bus.append(room: room, unnumbered: try unnumbered("published"))
                try await bus.publish([fourth], room: room)
                try await inbox.seqs.wait(for: "gap filled", timeout: .seconds(5)) { Set($0) == [1, 2, third.seq, fourth.seq] }
                #expect(inbox.seqs.value.count == 4, "nothing delivered twice")
            }
        }
    }

    @Test func aRetractedCommentLeavesTheStreamAndSubscribersAreTold() async throws {
        try await RedisServer.with { server in
            try await withBus(server) { bus in
                let inbox = Inbox()
                try await bus.subscribe(room, subscriber: inbox, on: MultiThreadedEventLoopGroup.singleton.next()).get()
                let first = try await bus.append(room: room, unnumbered: try unnumbered("keep"))
                let second = try await bus.append(room: room, unnumbered: try unnumbered("oops"))
                let third = try await bus.append(room: room, unnumbered: try unnumbered("keep too"))
                // The comment's id is "oops" (see `unnumbered`); the author's id "u" must not match.
                #expect(try await bus.retract(room: room, id: "u", reason: nil) == nil)
                #expect(try await bus.retract(room: room, id: "oops", reason: nil) == second.seq)
                #expect(try await bus.retract(room: room, id: "oops", reason: nil) == nil, "gone")
                // The retraction went out with the deletion; publishing it is nothing more.
                try await inbox.retracted.wait { $0 == [second.seq] }
                try await bus.publishRetraction(seq: second.seq, id: "oops", room: room, reason: nil)
                let history = try await bus.snapshot(room: room, since: 0, limit: 100, on: MultiThreadedEventLoopGroup.singleton.next()).get()
                #expect(history.comments.map(\.seq) == [first.seq, third.seq])
                #expect(inbox.retracted.value == [second.seq], "told once")
            }
        }
    }

    /// The chaos harness (docs/GUARANTEES.md, sentinel seed 27) found a recall whose script Redis
    /// ran while the node, its answer late, renewed the connection: the comment left history, the
    /// node published nothing, and viewers kept it on screen. The script itself tells subscribers,
    /// whatever becomes of its answer: here it is run by someone else than the bus.
    @Test func aDeletionWhoseAnswerNoNodeSawStillReachesSubscribers() async throws {
        try await RedisServer.with { server in
            try await withBus(server) { bus in
                let inbox = Inbox()
                try await bus.subscribe(room, subscriber: inbox, on: MultiThreadedEventLoopGroup.singleton.next()).get()
                let stored = try await bus.append(room: room, unnumbered: try unnumbered("recalled"))
                let keys = RedisKeys(room)
                let seq = try await server.command([
                    "EVAL", RedisScripts.retract, "4", keys.log, keys.retractionCount, keys.retractions, keys.retractedBySeq, EncodedComment.idMarker("recalled"),
                    EncodedComment.noticeIDMarker("recalled"), keys.channel, "recalled", "",
                ])
                #expect(seq == ":\(stored.seq)\r\n")
                try await inbox.retracted.wait { $0 == [stored.seq] }
            }
        }
    }

    /// The chaos harness (docs/GUARANTEES.md, sentinel seed 2) found a retraction published while
    /// a push node's subscription was moving: its viewers, connected all along, kept the comment.
    /// Retractions are numbered and kept per room; the node notices the number move past the last
    /// it was told of and reads the missing ones back, and tells each once.
    @Test func aRetractionWhosePublishWasLostIsReadBackAndToldOnce() async throws {
        try await RedisServer.with { server in
            try await withBus(server) { bus in
                let inbox = Inbox()
                try await bus.subscribe(room, subscriber: inbox, on: MultiThreadedEventLoopGroup.singleton.next()).get()
                var stored: [EncodedComment] = []
                for text in ["first", "second", "third"] { stored.append(try await bus.append(room: room, unnumbered: try unnumbered(text))) }
                // Told by pub/sub as usual.
                let firstSeq = stored[0].seq
                #expect(try await bus.retract(room: room, id: "first", reason: nil) == firstSeq)
                try await inbox.retracted.wait { $0 == [firstSeq] }
                // Published where this node does not listen, as to a subscription that was down.
                let keys = RedisKeys(room)
                for text in ["second", "third"] {
                    _ = try await server.command([
                        "EVAL", RedisScripts.retract, "4", keys.log, keys.retractionCount, keys.retractions, keys.retractedBySeq, EncodedComment.idMarker(text),
                        EncodedComment.noticeIDMarker(text), "danmaku:{elsewhere}:live", text, "",
                    ])
                }
                try await inbox.retracted.wait(for: "read back") { $0.count >= 3 }
                #expect(inbox.retracted.value == stored.map(\.seq), "each once, in the order they were made")
                // A withdrawal is numbered and told the same way.
                let withdrawn = try await bus.append(room: room, unnumbered: try unnumbered("unconfirmed"))
                _ = try await server.command([
                    "EVAL", RedisScripts.withdraw, "5", keys.log, keys.retractionCount, keys.retractions, keys.retractedBySeq, keys.seq, String(withdrawn.seq),
                    EncodedComment.idMarker("unconfirmed"), "danmaku:{elsewhere}:live", "unconfirmed",
                ])
                try await inbox.retracted.wait(for: "withdrawal read back") { $0.count >= 4 }
                try await Task.sleep(for: .milliseconds(1500))  // past the next poll of the counters
                #expect(inbox.retracted.value == stored.map(\.seq) + [withdrawn.seq], "nothing told twice")
            }
        }
    }

    /// A subscription connection the server closes, with retractions made meanwhile: every one is
    /// told once, whether its publish came or was read back after the node subscribed again.
    @Test func retractionsMadeWhileTheSubscriptionIsDownAreToldOnce() async throws {
        try await RedisServer.with { server in
            try await withBus(server) { bus in
                let inbox = Inbox()
                try await bus.subscribe(room, subscriber: inbox, on: MultiThreadedEventLoopGroup.singleton.next()).get()
                var stored: [EncodedComment] = []
                for index in 0..<20 { stored.append(try await bus.append(room: room, unnumbered: try unnumbered("c\(index)"))) }
                _ = try await server.command(["CLIENT", "KILL", "TYPE", "pubsub"])
                for index in 0..<20 { _ = try await bus.retract(room: room, id: "c\(index)", reason: nil) }
                try await inbox.retracted.wait(for: "every retraction") { $0.count >= 20 }
                try await Task.sleep(for: .milliseconds(1500))
                #expect(inbox.retracted.value.sorted() == stored.map(\.seq), "each once")
            }
        }
    }

    /// A failover to a replica that had not received the last retractions numbers the next ones
    /// again, possibly while a push node's subscription moves: the node reads the latest back when
    /// it subscribes again and tells those it was not told, by id, each once.
    @Test func retractionsNumberedAgainWhileTheSubscriptionMovedAreReadBack() async throws {
        try await RedisServer.with { server in
            try await withBus(server) { bus in
                let inbox = Inbox()
                try await bus.subscribe(room, subscriber: inbox, on: MultiThreadedEventLoopGroup.singleton.next()).get()
                var stored: [EncodedComment] = []
                for index in 0..<4 { stored.append(try await bus.append(room: room, unnumbered: try unnumbered("c\(index)"))) }
                _ = try await bus.retract(room: room, id: "c0", reason: nil)
                _ = try await bus.retract(room: room, id: "c1", reason: nil)
                try await inbox.retracted.wait { $0.count == 2 }
                // As a promoted replica that had only the first: its counter and stream end at 1.
                let keys = RedisKeys(room)
                _ = try await server.command(["SET", keys.retractionCount, "1"])
                _ = try await server.command(["XTRIM", keys.retractions, "MAXLEN", "1"])
                _ = try await server.command(["CLIENT", "KILL", "TYPE", "pubsub"])
                // Numbered 2 again, published while the node is not subscribed.
                for text in ["c2"] {
                    _ = try await server.command([
                        "EVAL", RedisScripts.retract, "4", keys.log, keys.retractionCount, keys.retractions, keys.retractedBySeq,
                        EncodedComment.idMarker(text), EncodedComment.noticeIDMarker(text), "danmaku:{elsewhere}:live", text, "",
                    ])
                }
                try await inbox.retracted.wait(for: "the renumbered retraction") { $0.count >= 3 }
                _ = try await bus.retract(room: room, id: "c3", reason: nil)
                try await inbox.retracted.wait(for: "the next one, by pub/sub") { $0.count >= 4 }
                try await Task.sleep(for: .milliseconds(1500))
                #expect(inbox.retracted.value == stored.map(\.seq), "each once")
            }
        }
    }

    /// A master promoted in a failover that never received the last comment numbers the next
    /// one with its seq: the push node, which passed that seq on already, tells the new holder as
    /// renumbered (its viewers get a `gap` for it) instead of dropping it as a duplicate.
    @Test func aCommentAFailoverNumberedWithAPassedSeqIsToldAsRenumbered() async throws {
        try await RedisServer.with { server in
            try await withBus(server) { bus in
                let inbox = try await subscribedInbox(bus, afterPublishing: 3)
                let again = try unnumbered("c3")
                try await storeAtSeq3AsAPromotedReplicaWould(again, on: server)
                try await bus.publish([EncodedComment(numbering: again, seq: 3, room: room)], room: room)
                try await inbox.renumbered.wait(for: "the second holder of seq 3") { $0 == [3] }
                #expect(inbox.seqs.value == [1, 2, 3], "not delivered as a new seq")
                try await inbox.retracted.wait(for: "the first holder, lost") { $0 == [3] }
            }
        }
    }

    /// The comment a failover numbered again may never be published (its logic node died after
    /// storing it): after the resubscription a failover causes, the push node compares the room's
    /// latest stream entries with what it passed on, and finds it.
    @Test func anUnpublishedCommentNumberedAgainIsFoundAfterTheResubscription() async throws {
        try await RedisServer.with { server in
            try await withBus(server) { bus in
                let inbox = try await subscribedInbox(bus, afterPublishing: 3)
                try await storeAtSeq3AsAPromotedReplicaWould(try unnumbered("c3"), on: server)
                // Never published; the subscription moves, as in a failover.
                _ = try await server.command(["CLIENT", "KILL", "TYPE", "pubsub"])
                try await inbox.renumbered.wait(for: "the unpublished holder of seq 3") { $0 == [3] }
                #expect(inbox.seqs.value == [1, 2, 3])
            }
        }
    }

    /// Comments a failover lost (stored on the old master only, never answered 201, nobody left
    /// to take them back), which viewers were shown: after the resubscription, the push node
    /// finds the stream without them and takes them off the screens; the one another comment
    /// took the seq of, when that one comes.
    @Test func commentsAFailoverLostAreTakenOffTheScreens() async throws {
        try await RedisServer.with { server in
            try await withBus(server) { bus in
                let inbox = try await subscribedInbox(bus, afterPublishing: 4)
                // As the promoted replica: it had up to seq 2.
                let keys = RedisKeys(room)
                _ = try await server.command([
                    "EVAL", "redis.call('XDEL', KEYS[2], '3-0', '4-0') redis.call('XSETID', KEYS[2], '2-0') redis.call('SET', KEYS[1], '2')",
                    "2", keys.seq, keys.log,
                ])
                _ = try await server.command(["CLIENT", "KILL", "TYPE", "pubsub"])
                try await inbox.retracted.wait(for: "both lost comments") { Set($0) == [3, 4] }
                // The counter is raised past them (by the poll that follows a resubscription), so
                // the next comment takes a fresh seq.
                for _ in 0..<100 where !(try await server.command(["GET", keys.seq])).contains("\r\n4\r\n") {
                    try await Task.sleep(for: .milliseconds(100))
                }
                let next = try await bus.append(room: room, unnumbered: try unnumbered("c4"))
                #expect(next.seq == 5)
                try await Task.sleep(for: .milliseconds(2500))
                #expect(inbox.retracted.value.count == 2, "each once, the second comparison included")
            }
        }
    }

    /// A comment a failover lost may be on the screens of another push node's viewers that this
    /// node's feed never passed on (shown from history when they joined, or by a feed that node
    /// let go of and started again): the push node that finds it lost records its retraction, so
    /// the other node tells its viewers, and a viewer resuming from before it is told too.
    @Test func aLostCommentsRetractionReachesPushNodesThatDidNotPassItOn() async throws {
        try await RedisServer.with { server in
            try await withBus(server) { bus in
                let inbox = try await subscribedInbox(bus, afterPublishing: 4)
                try await withBus(server) { other in
                    // Its feed starts at seq 4: 3 and 4 went to its viewers with their history.
                    let late = Inbox()
                    try await other.subscribe(room, subscriber: late, on: MultiThreadedEventLoopGroup.singleton.next()).get()
                    // As the promoted replica: it had up to seq 2.
                    let keys = RedisKeys(room)
                    _ = try await server.command([
                        "EVAL", "redis.call('XDEL', KEYS[2], '3-0', '4-0') redis.call('XSETID', KEYS[2], '2-0') redis.call('SET', KEYS[1], '2')",
                        "2", keys.seq, keys.log,
                    ])
                    _ = try await server.command(["CLIENT", "KILL", "TYPE", "pubsub"])
                    try await inbox.retracted.wait(for: "both lost comments, where they were passed on") { Set($0) == [3, 4] }
                    try await late.retracted.wait(for: "both lost comments, on the other node") { Set($0) == [3, 4] }
                    let resume = try await bus.snapshot(room: room, since: 4, limit: 10, retracted: true, on: MultiThreadedEventLoopGroup.singleton.next()).get()
                    #expect(Set(resume.retracted.map(\.seq)) == [3, 4] && resume.retracted.allSatisfy { $0.reason == .lost }, "\(resume.retracted)")
                    try await Task.sleep(for: .milliseconds(2500))
                    #expect(inbox.retracted.value.count == 2, "each once: the record of its own finding is not told again")
                    #expect(late.retracted.value.count == 2, "each once")
                }
            }
        }
    }

    /// `--bus-min-replicas` holds for retractions too: one only the master has is undone by a
    /// failover to a replica without it (the comment is back in history), so it is not answered
    /// as done until the replicas confirm it. A retry is not answered "not found" meanwhile; it
    /// is confirmed once a replica has caught up.
    @Test func aRetractionIsAnsweredOnlyOnceTheReplicasHaveIt() async throws {
        try await RedisServer.with { server in
            let stored = try await withBus(server) { bus in try await bus.append(room: room, unnumbered: try unnumbered("c1")) }
            try await withBus(server, minReplicas: 1) { bus in
                await #expect(throws: RedisError.self, "no replica confirmed it") { try await bus.retract(room: room, id: "c1", reason: nil) }
                #expect(try await bus.comment(room: room, id: "c1") == nil, "done on the master all the same")
                await #expect(throws: RedisError.self, "the retry waits for the replicas again") {
                    try await bus.retract(room: room, id: "c1", reason: nil)
                }
                try await RedisServer.with(extraArguments: ["--replicaof", "127.0.0.1", String(server.port)]) { _ in
                    try await eventually("the retry confirmed by the replica") {
                        (try? await bus.retract(room: room, id: "c1", reason: nil)) == stored.seq
                    }
                }
            }
            let again = try await withBus(server) { bus in try await bus.retract(room: room, id: "c1", reason: nil) }
            #expect(again == nil, "without replicas to wait for, not found, as before")
        }
    }

    /// A room whose keys were lost starts a new numbering (epoch) at seq 1: that is not a counter
    /// behind, and the push node leaves it alone.
    @Test func aNewNumberingIsNotRaisedToTheOldOnesSeqs() async throws {
        try await RedisServer.with { server in
            try await withBus(server) { bus in
                let inbox = try await subscribedInbox(bus, afterPublishing: 3)
                // Let a poll learn the room's epoch, then lose every key of the room.
                try await Task.sleep(for: .milliseconds(1200))
                let keys = RedisKeys(room)
                _ = try await server.command(["DEL"] + keys.numbering)
                #expect(try await bus.append(room: room, unnumbered: try unnumbered("n0")).seq == 1, "a new numbering")
                try await Task.sleep(for: .milliseconds(2500))  // two polls
                #expect(try await bus.append(room: room, unnumbered: try unnumbered("n1")).seq == 2, "not raised past the old numbering's 3")
                #expect(inbox.retracted.value.isEmpty, "nothing of the old numbering taken for lost")
            }
        }
    }

    /// A comment taken back after its seq was read as empty, whose publish comes late: a copy by
    /// pub/sub at a skipped seq is told only if the stream holds it, and this one it does not.
    @Test func aLatePublishOfACommentTakenBackIsNotTold() async throws {
        try await RedisServer.with { server in
            try await withBus(server) { bus in
                let inbox = Inbox()
                try await bus.subscribe(room, subscriber: inbox, on: MultiThreadedEventLoopGroup.singleton.next()).get()
                let first = try await bus.append(room: room, unnumbered: try unnumbered("c0"))
                try await bus.publish([first], room: room)
                let late = try await bus.append(room: room, unnumbered: try unnumbered("c1"))
                _ = try await bus.retract(room: room, id: "c1", reason: nil)
                try await inbox.retracted.wait { $0 == [2] }
                // The counter poll (each second) finds seq 2 missing; the stream read finds it gone.
                try await Task.sleep(for: .milliseconds(2500))
                try await bus.publish([late], room: room)
                let after = try await bus.append(room: room, unnumbered: try unnumbered("c2"))
                try await bus.publish([after], room: room)
                try await inbox.seqs.wait { $0.last == 3 }
                try await Task.sleep(for: .milliseconds(300))
                #expect(inbox.seqs.value == [1, 3], "not delivered")
                #expect(inbox.renumbered.value.isEmpty, "not told as renumbered either")
            }
        }
    }

    /// A counter a failover put below seqs the push node was given is raised back by its next
    /// poll, so the next comment takes a seq nobody was given.
    @Test func aCounterAFailoverPutBehindPublishedSeqsIsRaisedBack() async throws {
        try await RedisServer.with { server in
            try await withBus(server) { bus in
                let inbox = try await subscribedInbox(bus, afterPublishing: 3)
                let keys = RedisKeys(room)
                _ = try await server.command(["SET", keys.seq, "1"])
                // Counters are polled each second.
                var counter = ""
                for _ in 0..<100 {
                    counter = try await server.command(["GET", keys.seq])
                    if counter.contains("\r\n3\r\n") { break }
                    try await Task.sleep(for: .milliseconds(100))
                }
                #expect(counter.contains("\r\n3\r\n"), "\(counter)")
                #expect(try await bus.append(room: room, unnumbered: try unnumbered("c3")).seq == 4)
            }
        }
    }

    /// A retraction counter lost (evicted or deleted) while the stream stays: the next retraction
    /// is numbered past the stream's last, so the script never fails after its deletion.
    @Test func aLostRetractionCounterDoesNotFailTheNextRetraction() async throws {
        try await RedisServer.with { server in
            try await withBus(server) { bus in
                for index in 0..<3 { _ = try await bus.append(room: room, unnumbered: try unnumbered("c\(index)")) }
                _ = try await bus.retract(room: room, id: "c0", reason: nil)
                _ = try await bus.retract(room: room, id: "c1", reason: nil)
                _ = try await server.command(["DEL", RedisKeys(room).retractionCount])
                #expect(try await bus.retract(room: room, id: "c2", reason: nil) == 3)
                let counter = try await server.command(["GET", RedisKeys(room).retractionCount])
                #expect(counter.contains("\r\n3\r\n"), "numbered past the stream's last: \(counter)")
            }
        }
    }

    /// A comment is found by id inside Redis, newest first and a hundred entries at a time: only
    /// the match leaves the server, however deep in the stream it is.
    @Test func aCommentIsFoundByIDWithoutReadingTheStreamOut() async throws {
        try await RedisServer.with { server in
            try await withBus(server, historyCapacity: 1000) { bus in
                var stored: [EncodedComment] = []
                for index in 0..<250 { stored.append(try await bus.append(room: room, unnumbered: try unnumbered("c\(index)"))) }
                for index in [0, 99, 100, 149, 150, 249] {
                    let found = try await bus.comment(room: room, id: "c\(index)")
                    #expect(found?.seq == stored[index].seq && found?.json == stored[index].json, "c\(index)")
                }
                #expect(try await bus.comment(room: room, id: "u") == nil, "the author's id is not the comment's")
                #expect(try await bus.comment(room: room, id: "c250") == nil)
                #expect(try await bus.comment(room: RoomID("elsewhere")!, id: "c1") == nil)
                _ = try await bus.retract(room: room, id: "c7", reason: nil)
                #expect(try await bus.comment(room: room, id: "c7") == nil, "retracted")
            }
        }
    }

    /// Withdrawing an unconfirmed comment on a master promoted in a failover: the master may lack
    /// it and may have numbered an accepted comment with its seq.
    @Test func aWithdrawalDeletesOnlyItsOwnCommentAndKeepsItsSeqUnused() async throws {
        try await RedisServer.with { server in
            try await withBus(server) { bus in
                let keys = RedisKeys(room)
                func withdraw(seq: UInt64, id: String) async throws -> String {
                    try await server.command(
                        ["EVAL", RedisScripts.withdraw, "5", keys.log, keys.retractionCount, keys.retractions, keys.retractedBySeq, keys.seq]
                            + [String(seq), EncodedComment.idMarker(id), keys.channel, id])
                }
                let accepted = try await bus.append(room: room, unnumbered: try unnumbered("accepted"))
                #expect(try await withdraw(seq: accepted.seq, id: "unconfirmed") == ":0\r\n", "another comment holds the seq")
                #expect(try await withdraw(seq: accepted.seq + 4, id: "unconfirmed") == ":1\r\n", "not here: the seq stays unused")
                #expect(try await bus.append(room: room, unnumbered: try unnumbered("next")).seq == accepted.seq + 5)
                #expect(try await withdraw(seq: accepted.seq, id: "accepted") == ":1\r\n")
                let history = try await bus.snapshot(room: room, since: 0, limit: 100, on: MultiThreadedEventLoopGroup.singleton.next()).get()
                #expect(history.comments.map(\.seq) == [accepted.seq + 5])
            }
        }
    }

    @Test func appendFailsAtOnceWhileRedisIsDown() async throws {
        try await RedisServer.with { server in
            // A long command timeout, so that failing "at once" is told apart from timing out even
            // on a loaded machine.
            try await withBus(server, commandTimeout: .seconds(30)) { bus in
                await server.stop()
                try await Task.sleep(for: .milliseconds(100))
                let started = ContinuousClock.now
                await #expect(throws: (any Error).self) { _ = try await bus.append(room: room, unnumbered: try unnumbered("x")) }
                #expect(ContinuousClock.now - started < .seconds(10), "failed at once, not after the 30 s command timeout")
            }
        }
    }
}
