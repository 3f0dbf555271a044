import DanmakuTestSupport
import Foundation
import Testing

/// Merged repeats over real sockets: a hot room's "666"s go out once per batch, and every seq is
/// still accounted for (carried, or named in a `merged` group), once.
@Suite struct MergedRepeatsSocketTests {
    /// Every seq a viewer got, carried or merged, in the order the batches gave them.
    static func accounted(_ state: TestViewer.State) -> (seqs: [Int], merged: Int, shownAsRepeat: [Int: Int]) {
        var seqs: [Int] = []
        var merged = 0
        var repeats: [Int: Int] = [:]
        for message in state.messages where message["type"] as? String == "comments" {
            seqs += (message["comments"] as? [[String: Any]] ?? []).compactMap { $0["seq"] as? Int }
            for group in message["merged"] as? [[Int]] ?? [] {
                seqs += group.dropFirst()
                merged += group.count - 1
                if let first = group.first { repeats[first] = group.count }
            }
        }
        return (seqs, merged, repeats)
    }

    @Test func repeatsGoOutOnceAndEverySeqIsAccountedFor() async throws {
        try await withServer({
            $0.push.mergeRepeats = true
            // A window wide enough that posts sent together share a batch on a busy machine.
            $0.push.batchWindowMilliseconds = 1000
            $0.push.maxBatchWindowMilliseconds = 1000
            // Every post comes from one address (one anonymous author) and repeats itself.
            $0.logic.duplicateWindowSeconds = 0
        }) { _, port in
            let viewer = try await TestViewer.join(port: port, room: "hot")
            let texts = Array(repeating: "666", count: 6) + ["nice", "NICE", "first"]
            try await withThrowingTaskGroup(of: Int.self) { group in
                for text in texts {
                    group.addTask { try await postComment(port: port, room: "hot", json: #"{"text":"\#(text)"}"#).status }
                }
                for try await status in group { #expect(status == 201) }
            }
            try await viewer.observed.wait(for: "every seq accounted for") { Self.accounted($0).seqs.count >= texts.count }
            let (seqs, merged, repeats) = Self.accounted(viewer.observed.value)
            #expect(seqs.sorted() == Array(1...texts.count), "each seq once: \(seqs)")
            #expect(merged >= 3, "the repeats were merged: \(repeats)")
            // History holds every comment as it was posted.
            let history = try await httpRequest(port: port, method: "GET", path: "/v1/rooms/hot/comments?since=0")
            #expect((history.json["comments"] as? [[String: Any]])?.count == texts.count)
            let metrics = try await httpRequest(port: port, method: "GET", path: "/metrics")
            let line = String(decoding: metrics.body, as: UTF8.self).split(separator: "\n").first { $0.hasPrefix("danmaku_merged_total ") }
            #expect(line.flatMap { Double($0.split(separator: " ")[1]) } == Double(merged))
            await viewer.close()
        }
    }
}
