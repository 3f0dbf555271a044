import DanmakuTestSupport
import Foundation
import Testing

/// Online counts on one node: `hello`, `online` messages when the count changes, and the room
/// endpoints.
@Suite struct OnlineCountTests {
    func onlineCounts(_ state: TestViewer.State, room: String) -> [Int] {
        state.messages.filter { $0["type"] as? String == "online" && $0["room"] as? String == room }
            .compactMap { $0["count"] as? Int }
    }

    @Test func viewersLearnTheCountAndTheRoomEndpointsReportIt() async throws {
        try await withServer({ $0.presenceInterval = .milliseconds(200) }) { _, port in
            let first = try await TestViewer.join(port: port, room: "oc-a")
            try await first.observed.wait(for: "hello") { $0.messages.contains { $0["type"] as? String == "hello" } }
            let hello = first.observed.value.messages.first { $0["type"] as? String == "hello" }
            #expect(hello?["online"] as? Int == 1, "the viewer counts itself")

            var others: [TestViewer] = []
            for _ in 0..<4 { others.append(try await TestViewer.join(port: port, room: "oc-a")) }
            try await first.observed.wait(for: "online 5") { onlineCounts($0, room: "oc-a").last == 5 }
            let busy = try await TestViewer.join(port: port, room: "oc-b")
            for index in 1...6 {
                #expect(try await postComment(port: port, room: "oc-a", json: #"{"text":"c \#(index)"}"#).status == 201)
            }

            try await eventually("the room endpoint counts 5") {
                let reply = try await httpRequest(port: port, method: "GET", path: "/v1/rooms/oc-a")
                return reply.status == 200 && reply.json["online"] as? Int == 5
            }
            let stats = try await httpRequest(port: port, method: "GET", path: "/v1/rooms/oc-a").json
            #expect(stats["room"] as? String == "oc-a")
            #expect(stats["lastSeq"] as? Int == 6)
            let rate = stats["commentsPerSecond"] as? Double ?? -1
            #expect(rate >= 0.6 && rate <= 6, "6 comments in the last 10 s: \(rate)")

            func busiest() async throws -> [String] {
                let top = try await httpRequest(port: port, method: "GET", path: "/v1/rooms?top=2").json
                return (top["rooms"] as? [[String: Any]] ?? []).map { "\($0["room"] as? String ?? "") \($0["online"] as? Int ?? 0)" }
            }
            try await eventually("both rooms counted") { try await busiest().count == 2 }
            #expect(try await busiest() == ["oc-a 5", "oc-b 1"])
            #expect(try await httpRequest(port: port, method: "GET", path: "/v1/rooms?top=0").errorCode == "invalid_top")
            #expect(try await httpRequest(port: port, method: "GET", path: "/v1/rooms?top=x").errorCode == "invalid_top")
            #expect(try await httpRequest(port: port, method: "GET", path: "/v1/rooms/bad!room").errorCode == "invalid_room")
            let empty = try await httpRequest(port: port, method: "GET", path: "/v1/rooms/nobody-here").json
            #expect(empty["online"] as? Int == 0 && empty["lastSeq"] as? Int == 0 && empty["commentsPerSecond"] as? Double == 0)

            // Viewers leaving: the count goes down, and viewers are told.
            for viewer in others { await viewer.close() }
            try await first.observed.wait(for: "online 1") { onlineCounts($0, room: "oc-a").last == 1 }
            await first.close()
            await busy.close()
        }
    }
}
