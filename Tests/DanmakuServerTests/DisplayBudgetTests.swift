import DanmakuAuth
import DanmakuTestSupport
import Foundation
import Testing

/// A room's display budget: every comment accepted and numbered, each viewer sent a sample, with
/// notices, privileged authors' and its own comments always, and `shed` accounting for the rest.
@Suite struct DisplayBudgetTests {
    let tokens = ModerationTests()

    /// What a viewer got in `room` after its `hello`: ordinary comments, notices, seqs, and the sum of `shed`.
    struct Tally {
        var helloLastSeq = 0
        var displayPerSecond: Int?
        var comments = 0
        var notices = 0
        var seqs: [Int] = []
        var shed = 0
        var lastSeq = 0
    }

    func tally(_ state: TestViewer.State) -> Tally {
        var tally = Tally()
        for message in state.messages {
            switch message["type"] as? String {
            case "hello":
                tally.helloLastSeq = message["lastSeq"] as? Int ?? 0
                tally.displayPerSecond = message["displayPerSecond"] as? Int
                tally.lastSeq = tally.helloLastSeq
            case "comments":
                for item in message["comments"] as? [[String: Any]] ?? [] {
                    if item["kind"] as? String == "notice" { tally.notices += 1 } else { tally.comments += 1 }
                    tally.seqs.append(item["seq"] as? Int ?? 0)
                }
                tally.shed += message["shed"] as? Int ?? 0
                tally.lastSeq = max(tally.lastSeq, message["lastSeq"] as? Int ?? tally.seqs.last ?? 0)
            default:
                break
            }
        }
        return tally
    }

    @Test func aThousandCommentsASecondAreShedToFiftyPerViewerAndTheCountsAddUp() async throws {
        try await withServer({ $0.jwtSecret = ModerationTests.secret }) { _, port in
            let moderator = try await tokens.bearer("mod", .moderator)
            let streamer = try await tokens.bearer("star", .streamer, rooms: ["hot"])
            let posterToken = try await TokenIssuer.sign(
                DanmakuClaims(user: "poster", name: "poster", role: .viewer, expires: Date().addingTimeInterval(600)), secret: ModerationTests.secret)
            let settings = try await tokens.call(port, "PUT", "/v1/rooms/hot/settings", moderator, #"{"displayPerSecond":50}"#)
            #expect(settings.status == 200 && settings.json["displayPerSecond"] as? Int == 50, "\(settings)")
            #expect(try await tokens.call(port, "PUT", "/v1/rooms/hot/settings", moderator, #"{"displayPerSecond":0}"#).errorCode == "invalid_displayPerSecond")

            let watchers = try await (0..<10).asyncMap { _ in try await TestViewer.join(port: port, room: "hot") }
            // The poster watches too, with its token: its own comments always reach it.
            let poster = try await TestViewer.connect(port: port, path: "/v1/rooms/hot/ws?token=\(posterToken)")
            for viewer in watchers + [poster] {
                try await viewer.observed.wait(for: "hello") { tally($0).displayPerSecond == 50 }
            }

            let started = ContinuousClock.now
            let total = 1000
            let statuses = try await postConcurrently(total, inFlight: 32) { index in
                if index == total / 2 {
                    // A notice in the middle of the flood.
                    _ = try await tokens.call(port, "POST", "/v1/rooms/hot/notices", streamer, #"{"text":"gift"}"#)
                }
                return try await tokens.call(port, "POST", "/v1/rooms/hot/comments", "Bearer \(posterToken)", #"{"text":"flood \#(index)"}"#).status
            }
            let elapsed = ContinuousClock.now - started
            #expect(statuses.allSatisfy { $0 == 201 }, "every comment accepted, shed or not")
            // A last notice: every viewer is then sent a batch that accounts for everything before it.
            #expect(try await tokens.call(port, "POST", "/v1/rooms/hot/notices", streamer, #"{"text":"the end"}"#).status == 201)
            let lastSeq = total + 2

            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            for viewer in watchers {
                try await viewer.observed.wait(for: "the last notice") { tally($0).lastSeq == lastSeq }
                let got = tally(viewer.observed.value)
                #expect(got.notices == 2, "notices are never shed")
                #expect(got.seqs == got.seqs.sorted() && Set(got.seqs).count == got.seqs.count, "in order, once")
                #expect(got.comments + got.notices + got.shed == lastSeq - got.helloLastSeq, "received + shed = every seq, exactly")
                // 50 a second, plus a second's worth saved up before the flood.
                #expect(got.comments <= Int(50 * (seconds + 2)), "\(got.comments) comments in \(seconds) s")
                #expect(got.comments >= 10, "a sample still gets through")
                #expect(got.shed > 0)
            }
            try await poster.observed.wait(for: "the poster's last notice") { tally($0).lastSeq == lastSeq }
            let own = tally(poster.observed.value)
            #expect(own.comments == total && own.shed == 0, "\(own.comments) received, \(own.shed) shed: a sender's own comments always reach its connections")

            // History and the room's numbers hold every comment.
            let stats = try await httpRequest(port: port, method: "GET", path: "/v1/rooms/hot").json
            #expect(stats["lastSeq"] as? Int == lastSeq)
            let metrics = String(decoding: try await httpRequest(port: port, method: "GET", path: "/metrics").body, as: UTF8.self)
            #expect(metrics.contains("danmaku_shed_total"))
            for viewer in watchers + [poster] { await viewer.close() }
        }
    }
}
