import DanmakuTestSupport
import Foundation
import Testing

@Suite struct FanOutTests {
    /// The issue's acceptance scenario: 200 + 20 viewers, 500 concurrent posts.
    @Test func everyViewerGetsExactlyItsRoomsCommentsInOrderBatched() async throws {
        try await withServer { _, port in
            let big = try await withThrowingTaskGroup(of: TestViewer.self) { group in
                for _ in 0..<200 { group.addTask { try await TestViewer.join(port: port, room: "big") } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let small = try await withThrowingTaskGroup(of: TestViewer.self) { group in
                for _ in 0..<20 { group.addTask { try await TestViewer.join(port: port, room: "small") } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let bigCount = 400
            let smallCount = 100
            // 500 posts in flight at once, interleaving the two rooms.
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for index in 0..<(bigCount + smallCount) {
                    let room = index % 5 == 0 ? "small" : "big"
                    group.addTask {
                        try await postComment(port: port, room: room, json: #"{"text":"comment \#(index)"}"#).status
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses.allSatisfy { $0 == 201 })
            for viewer in big { try await viewer.waitForComments(bigCount) }
            for viewer in small { try await viewer.waitForComments(smallCount) }
            for viewer in big {
                #expect(viewer.observed.value.seqs == Array(1...UInt64(bigCount)))
            }
            for viewer in small {
                #expect(viewer.observed.value.seqs == Array(1...UInt64(smallCount)))
            }
            let frames = big.map { $0.observed.value.batches }
            // Batching: far fewer frames than comments for every viewer.
            #expect(frames.allSatisfy { $0 * 4 <= bigCount }, "frames per viewer: \(frames.max() ?? 0) for \(bigCount) comments")
            for viewer in big + small { await viewer.close() }
        }
    }

    @Test func naiveModeSendsOneFramePerComment() async throws {
        try await withServer({ $0.push.batchWindowMilliseconds = 0 }) { _, port in
            let viewer = try await TestViewer.join(port: port, room: "r")
            // Concurrent posts arrive out of seq order now and then; each still gets its own frame.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<100 {
                    group.addTask {
                        let reply = try await postComment(port: port, room: "r", json: #"{"text":"n\#(index)"}"#)
                        #expect(reply.status == 201)
                    }
                }
                try await group.waitForAll()
            }
            try await viewer.waitForComments(100)
            #expect(viewer.observed.value.batches == 100)
            #expect(viewer.observed.value.seqs == Array(1...100))
            await viewer.close()
        }
    }

    @Test func resumeWithSinceYieldsExactlyTheMissedComments() async throws {
        try await withServer { _, port in
            let viewer = try await TestViewer.join(port: port, room: "r")
            for index in 0..<10 { _ = try await postComment(port: port, room: "r", json: #"{"text":"a\#(index)"}"#) }
            try await viewer.waitForComments(10)
            await viewer.close()
            // Missed while away:
            for index in 0..<7 { _ = try await postComment(port: port, room: "r", json: #"{"text":"b\#(index)"}"#) }
            let resumed = try await TestViewer.join(port: port, room: "r", since: 10)
            try await resumed.waitForComments(7)
            _ = try await postComment(port: port, room: "r", json: #"{"text":"live"}"#)
            try await resumed.waitForComments(8)
            #expect(resumed.observed.value.seqs == Array(11...18))
            let hello = try #require(resumed.observed.value.messages.first)
            #expect(hello["type"] as? String == "hello")
            #expect(hello["lastSeq"] as? Int == 17)
            await resumed.close()
        }
    }

    @Test func resumeWhileCommentsFlowLosesAndRepeatsNothing() async throws {
        try await withServer { _, port in
            let poster = Task {
                for index in 0..<300 { _ = try await postComment(port: port, room: "flow", json: #"{"text":"f\#(index)"}"#) }
            }
            // Viewers join at different moments while the room is busy.
            var viewers: [(TestViewer, UInt64)] = []
            for round in 0..<6 {
                let history = try await httpRequest(port: port, method: "GET", path: "/v1/rooms/flow/comments?limit=1")
                let last = UInt64(history.json["lastSeq"] as? Int ?? 0)
                let since = round % 2 == 0 ? last : last / 2
                viewers.append((try await TestViewer.join(port: port, room: "flow", since: since), since))
            }
            try await poster.value
            for (viewer, since) in viewers {
                try await viewer.waitForComments(Int(300 - since))
                #expect(viewer.observed.value.seqs == Array((since + 1)...300))
                await viewer.close()
            }
        }
    }

    @Test func historyAPIServesStoredComments() async throws {
        try await withServer { _, port in
            for index in 0..<5 { _ = try await postComment(port: port, room: "h", json: ##"{"text":"h\##(index)","color":"#FF0000","mode":"top"}"##) }
            let reply = try await httpRequest(port: port, method: "GET", path: "/v1/rooms/h/comments?since=2&limit=2")
            #expect(reply.status == 200)
            #expect(reply.json["room"] as? String == "h")
            #expect(reply.json["lastSeq"] as? Int == 5)
            let comments = try #require(reply.json["comments"] as? [[String: Any]])
            #expect(comments.map { $0["seq"] as? Int } == [3, 4])
            #expect(comments.first?["color"] as? String == "#ff0000")
            #expect(comments.first?["mode"] as? String == "top")
            #expect((comments.first?["user"] as? [String: Any])?["name"] as? String == "anonymous")
            let empty = try await httpRequest(port: port, method: "GET", path: "/v1/rooms/nobody/comments")
            #expect(empty.status == 200 && empty.json["lastSeq"] as? Int == 0)
        }
    }

    @Test func viewerCanPostOverTheSocket() async throws {
        try await withServer { _, port in
            let poster = try await TestViewer.join(port: port, room: "ws")
            let watcher = try await TestViewer.join(port: port, room: "ws")
            try await poster.sendText(##"{"type":"comment","text":"from the socket","color":"#00ff00"}"##)
            try await watcher.waitForComments(1)
            try await poster.observed.wait { state in state.messages.contains { $0["type"] as? String == "ack" } }
            let ack = try #require(poster.observed.value.messages.first { $0["type"] as? String == "ack" })
            #expect(ack["seq"] as? Int == 1)
            try await poster.sendText(#"{"type":"comment","text":"fuck"}"#)
            try await poster.observed.wait { state in state.messages.contains { $0["type"] as? String == "error" } }
            let error = try #require(poster.observed.value.messages.first { $0["type"] as? String == "error" })
            #expect(error["code"] as? String == "filtered")
            await poster.close()
            await watcher.close()
        }
    }
}
