import DanmakuTestSupport
import Foundation
import Testing

/// A room the server forgot (idle, or evicted past --max-rooms) starts a new epoch at seq 1; a
/// client that resumes with the epoch of the seqs it holds is sent the new numbering from its
/// start instead of silently skipping it.
@Suite struct EpochTests {
    @Test func aClientOfAForgottenEpochGetsTheNewOneFromItsStart() async throws {
        try await withServer({ $0.maxRooms = 10 }) { _, port in
            for text in ["first", "second"] {
                #expect(try await postComment(port: port, room: "ep", json: #"{"text":"\#(text)"}"#).status == 201)
            }
            let before = try await httpRequest(port: port, method: "GET", path: "/v1/rooms/ep/comments?since=0").json
            let oldEpoch = try #require(before["epoch"] as? Int)
            #expect(before["lastSeq"] as? Int == 2 && oldEpoch > 0)
            // Twenty fresh rooms, nobody watching: past the cap, the least recently posted-to go.
            for index in 0..<20 {
                #expect(try await postComment(port: port, room: "other\(index)", json: #"{"text":"x"}"#).status == 201)
            }
            let posted = try await postComment(port: port, room: "ep", json: #"{"text":"a new start"}"#)
            #expect(posted.json["seq"] as? Int == 1, "\(posted)")

            let viewer = try await TestViewer.join(port: port, room: "ep", query: "since=2&epoch=\(oldEpoch)")
            try await viewer.waitForComments(1)
            let hello = try #require(viewer.observed.value.messages.first { $0["type"] as? String == "hello" })
            let newEpoch = try #require(hello["epoch"] as? Int)
            #expect(newEpoch != oldEpoch && hello["lastSeq"] as? Int == 1)
            #expect(viewer.observed.value.seqs == [1])
            await viewer.close()

            let history = try await httpRequest(port: port, method: "GET", path: "/v1/rooms/ep/comments?since=2&epoch=\(oldEpoch)").json
            #expect(history["epoch"] as? Int == newEpoch)
            #expect((history["comments"] as? [[String: Any]])?.compactMap { $0["text"] as? String } == ["a new start"])
            // The same epoch resumes as before: nothing after seq 1 yet.
            let current = try await httpRequest(port: port, method: "GET", path: "/v1/rooms/ep/comments?since=1&epoch=\(newEpoch)").json
            #expect((current["comments"] as? [Any])?.isEmpty == true)
        }
    }
}
