import DanmakuTestSupport
import Foundation
import Testing

/// Several rooms over one WebSocket: `join` / `leave`, each room with its own seq and resume.
@Suite struct MultiRoomTests {
    /// The seqs received per room, from `comments` frames.
    func seqsByRoom(_ state: TestViewer.State) -> [String: [Int]] {
        var seqs: [String: [Int]] = [:]
        for message in state.messages where message["type"] as? String == "comments" {
            let room = message["room"] as? String ?? "?"
            seqs[room, default: []] += (message["comments"] as? [[String: Any]] ?? []).compactMap { $0["seq"] as? Int }
        }
        return seqs
    }

    func messages(_ viewer: TestViewer, type: String) -> [[String: Any]] {
        viewer.observed.value.messages.filter { $0["type"] as? String == type }
    }

    func post(_ port: Int, _ room: String, _ text: String) async throws {
        let reply = try await postComment(port: port, room: room, json: #"{"text":"\#(text)"}"#)
        #expect(reply.status == 201, "\(reply)")
    }

    @Test func threeRoomsOverOneConnectionEachWithItsOwnSeqAndResume() async throws {
        try await withServer({ $0.push.maxRoomsPerConnection = 3 }) { _, port in
            // Room b already has history: a join with `since` gets what came after it.
            for index in 1...4 { try await post(port, "mr-b", "b before \(index)") }
            let viewer = try await TestViewer.join(port: port, room: "mr-a")
            try await viewer.observed.wait(for: "hello a") { $0.messages.contains { $0["type"] as? String == "hello" } }
            try await viewer.sendText(#"{"type":"join","room":"mr-b","since":2}"#)
            try await viewer.sendText(#"{"type":"join","room":"mr-c"}"#)
            try await viewer.observed.wait(for: "three hellos") { state in
                state.messages.filter { $0["type"] as? String == "hello" }.count == 3
            }
            let hellos = messages(viewer, type: "hello")
            #expect(Set(hellos.compactMap { $0["room"] as? String }) == ["mr-a", "mr-b", "mr-c"])
            #expect(hellos.first { $0["room"] as? String == "mr-b" }?["lastSeq"] as? Int == 4)
            try await viewer.observed.wait(for: "b's history after 2") { seqsByRoom($0)["mr-b"] == [3, 4] }

            // Past the limit, twice the same room, and rooms it does not watch: errors, socket open.
            try await viewer.sendText(#"{"type":"join","room":"mr-d"}"#)
            try await viewer.sendText(#"{"type":"join","room":"mr-c"}"#)
            try await viewer.sendText(#"{"type":"leave","room":"mr-z"}"#)
            try await viewer.sendText(#"{"type":"join","room":"bad room!"}"#)
            try await viewer.sendText(#"{"type":"join"}"#)
            try await viewer.observed.wait(for: "five errors") { state in
                state.messages.filter { $0["type"] as? String == "error" }.count == 5
            }
            #expect(messages(viewer, type: "error").compactMap { $0["code"] as? String }
                == ["too_many_rooms", "already_watching", "not_watching", "invalid_room", "invalid_room"])

            for index in 1...5 {
                try await post(port, "mr-a", "a \(index)")
                try await post(port, "mr-b", "b \(index)")
                try await post(port, "mr-c", "c \(index)")
            }
            try await viewer.observed.wait(for: "every room's comments") { state in
                let seqs = seqsByRoom(state)
                return seqs["mr-a"]?.count == 5 && seqs["mr-b"]?.count == 7 && seqs["mr-c"]?.count == 5
            }
            var seqs = seqsByRoom(viewer.observed.value)
            #expect(seqs["mr-a"] == [1, 2, 3, 4, 5])
            #expect(seqs["mr-b"] == [3, 4, 5, 6, 7, 8, 9])
            #expect(seqs["mr-c"] == [1, 2, 3, 4, 5])

            // A post over the socket names its room; it must be one the connection watches.
            try await viewer.sendText(#"{"type":"comment","room":"mr-c","text":"from the socket"}"#)
            try await viewer.observed.wait(for: "ack in c") { state in
                state.messages.contains { $0["type"] as? String == "ack" && $0["room"] as? String == "mr-c" && $0["seq"] as? Int == 6 }
            }

            // Leaving b: an answer, then nothing more of b, while a and c go on.
            try await viewer.sendText(#"{"type":"leave","room":"mr-b"}"#)
            try await viewer.observed.wait(for: "left b") { $0.messages.contains { $0["type"] as? String == "left" && $0["room"] as? String == "mr-b" } }
            try await post(port, "mr-b", "b after leaving")
            try await post(port, "mr-a", "a after")
            try await post(port, "mr-c", "c after")
            try await viewer.observed.wait(for: "a and c go on") { state in
                let seqs = seqsByRoom(state)
                return seqs["mr-a"]?.last == 6 && seqs["mr-c"]?.last == 7
            }
            seqs = seqsByRoom(viewer.observed.value)
            #expect(seqs["mr-b"] == [3, 4, 5, 6, 7, 8, 9], "nothing of a room after leaving it")
            #expect(seqs["mr-c"] == [1, 2, 3, 4, 5, 6, 7])

            // With a slot free again, b can be joined again, resuming where the viewer left it.
            try await viewer.sendText(#"{"type":"join","room":"mr-b","since":9}"#)
            try await viewer.observed.wait(for: "b resumed") { seqsByRoom($0)["mr-b"]?.last == 10 }
            #expect(seqsByRoom(viewer.observed.value)["mr-b"] == [3, 4, 5, 6, 7, 8, 9, 10])
            #expect(!viewer.observed.value.closed)
            await viewer.close()
        }
    }
}
