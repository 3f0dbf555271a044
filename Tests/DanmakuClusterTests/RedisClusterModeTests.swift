import DanmakuTestSupport
import Foundation
import Testing

extension DistributedModeTests {
    /// The distributed mode on a Redis Cluster of three masters with a replica each when a master
    /// dies or a room's slot moves while comments flow. (Routing by slot and subscriptions on each
    /// room's master are covered by the other distributed-mode tests, which run on a cluster too.)
    @Suite(.serialized) struct RedisClusterModeTests {
        @Test func killingTheMasterOfABusyRoomLosesNoAcceptedComment() async throws {
            try await Cluster.with(api: 2, push: 2, redisCluster: true, extra: ["--bus-min-replicas", "1"]) { cluster in
                let redis = try #require(cluster.redisCluster)
                let rooms = try await Self.rooms(spreadOver: redis, perMaster: 1)
                let busy = rooms[0]
                let doomed = try await redis.master(serving: "danmaku:{\(busy)}:seq")
                let viewers = try await Self.watch(rooms, on: cluster)
                let killed = Observed(false)
                let posting = rooms.map { room in
                    Task { try await Self.post(to: room, through: cluster, after: killed, acceptedAfterwards: 40) }
                }
                try await eventually("comments flowing in the busy room") { viewers.first { $0.room == busy }!.viewer.observed.value.seqs.count >= 30 }
                await doomed.kill()
                killed.update { $0 = true }
                // Rooms on the other masters still work meanwhile: the nodes stay ready.
                try await Task.sleep(for: .milliseconds(1500))
                for node in cluster.api + cluster.push {
                    let ready = try await httpRequest(port: node.port, method: "GET", path: "/readyz")
                    #expect(ready.status == 200, "a master down is not the whole bus down: \(ready)")
                }
                // The replica takes over; the old master comes back as its replica, so that
                // `--bus-min-replicas 1` can be met again for the busy room.
                try await Task.sleep(for: .milliseconds(2500))
                try await doomed.start()
                var accepted: [String: [UInt64]] = [:]
                for (room, task) in zip(rooms, posting) {
                    let outcome = try await task.value
                    #expect(outcome.otherStatuses.isEmpty, "only 201 and 503: \(outcome.otherStatuses)")
                    accepted[room] = outcome.accepted
                }
                try await Self.expectDelivered(accepted, to: viewers)
                #expect(try await redis.masterPorts().count == 3)
            }
        }

        @Test func aSlotMovedToAnotherMasterUnderLoadLosesNothing() async throws {
            try await Cluster.with(api: 1, push: 2, redisCluster: true) { cluster in
                let redis = try #require(cluster.redisCluster)
                let rooms = try await Self.rooms(spreadOver: redis, perMaster: 1)
                let busy = rooms[0]
                let source = try await redis.master(serving: "danmaku:{\(busy)}:seq")
                let target = try await redis.master(serving: "danmaku:{\(rooms[1])}:seq")
                let viewers = try await Self.watch(rooms, on: cluster)
                let moved = Observed(false)
                let posting = rooms.map { room in
                    Task { try await Self.post(to: room, through: cluster, after: moved, acceptedAfterwards: 60) }
                }
                try await eventually("comments flowing in the busy room") { viewers.first { $0.room == busy }!.viewer.observed.value.seqs.count >= 30 }
                try await redis.migrate(slot: try await redis.slot(of: busy), to: target)
                moved.update { $0 = true }
                #expect(try await redis.master(serving: "danmaku:{\(busy)}:seq").port == target.port)
                #expect(source.port != target.port)
                var accepted: [String: [UInt64]] = [:]
                var unavailable = 0
                for (room, task) in zip(rooms, posting) {
                    let outcome = try await task.value
                    #expect(outcome.otherStatuses.isEmpty, "only 201 and 503: \(outcome.otherStatuses)")
                    unavailable += outcome.unavailable
                    accepted[room] = outcome.accepted
                }
                #expect(unavailable <= 10, "a slot's move may refuse a few posts, not many")
                try await Self.expectDelivered(accepted, to: viewers)
            }
        }

        // MARK: Helpers

        /// Room names whose keys live on every master, `perMaster` each, the first one's master first.
        static func rooms(spreadOver redis: RedisCluster, perMaster: Int) async throws -> [String] {
            var byMaster: [Int: [String]] = [:]
            for index in 0..<200 {
                let room = "spread-\(index)"
                let port = try await redis.master(serving: "danmaku:{\(room)}:seq").port
                if byMaster[port, default: []].count < perMaster { byMaster[port, default: []].append(room) }
                if byMaster.count == 3, byMaster.values.allSatisfy({ $0.count == perMaster }) { break }
            }
            try #require(byMaster.count == 3, "rooms on all three masters")
            // One room per master in turn, so that any `perMaster` consecutive rooms cover them all.
            let masters = byMaster.keys.sorted()
            return (0..<perMaster).flatMap { index in masters.map { byMaster[$0]![index] } }
        }

        /// Three viewers per room on each push node, joined from the start.
        static func watch(_ rooms: [String], on cluster: Cluster) async throws -> [(room: String, viewer: TestViewer)] {
            var viewers: [(room: String, viewer: TestViewer)] = []
            for room in rooms {
                for node in cluster.push {
                    for _ in 0..<3 { viewers.append((room, try await TestViewer.join(port: node.port, room: room, since: 0))) }
                }
            }
            return viewers
        }

        struct PostingOutcome: Sendable {
            var accepted: [UInt64] = []
            var unavailable = 0
            var otherStatuses: [Int] = []
        }

        /// Posts to `room` through the API nodes in turn, a comment every few milliseconds, until
        /// `acceptedAfterwards` comments were accepted after `event` happened (or 60 s pass).
        static func post(
            to room: String, through cluster: Cluster, after event: Observed<Bool>, acceptedAfterwards: Int
        ) async throws -> PostingOutcome {
            var outcome = PostingOutcome()
            var acceptedAfterEvent = 0
            let deadline = ContinuousClock.now + .seconds(60)
            var index = 0
            while ContinuousClock.now < deadline, acceptedAfterEvent < acceptedAfterwards {
                let happened = event.value
                let reply = try await postComment(port: cluster.api[index % cluster.api.count].port, room: room, json: #"{"text":"\#(room) \#(index)"}"#)
                index += 1
                switch reply.status {
                case 201:
                    outcome.accepted.append((reply.json["seq"] as? NSNumber)?.uint64Value ?? 0)
                    if happened { acceptedAfterEvent += 1 }
                case 503:
                    outcome.unavailable += 1
                default:
                    outcome.otherStatuses.append(reply.status)
                }
                try await Task.sleep(for: .milliseconds(reply.status == 503 ? 50 : 5))
            }
            return outcome
        }

        /// Every viewer got every accepted comment of its room, each once, in order.
        static func expectDelivered(_ accepted: [String: [UInt64]], to viewers: [(room: String, viewer: TestViewer)]) async throws {
            for (room, viewer) in viewers {
                let expected = accepted[room] ?? []
                do {
                    try await viewer.observed.wait(for: "every accepted comment of \(room)", timeout: .seconds(20)) {
                        Set(expected).isSubset(of: Set($0.seqs)) || $0.closed
                    }
                } catch {
                    let seen = viewer.observed.value.seqs
                    Issue.record("a viewer of \(room) lacks accepted \(Set(expected).subtracting(seen).sorted()); it has \(seen.count) seqs up to \(seen.max() ?? 0)")
                    throw error
                }
                let seen = viewer.observed.value.seqs
                #expect(!viewer.observed.value.closed, "a viewer of \(room) stayed connected")
                #expect(Set(expected).isSubset(of: Set(seen)), "a viewer of \(room) missed an accepted comment")
                #expect(zip(seen, seen.dropFirst()).allSatisfy { $0 < $1 }, "a viewer of \(room) got comments out of order or twice")
                await viewer.close()
            }
        }
    }
}
