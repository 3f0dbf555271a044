import DanmakuTestSupport
import Foundation
import Testing

@Suite struct MetricsTests {
    /// The value of a sample line `name{labels} value` (or `name value`).
    func sample(_ text: String, _ name: String) -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix(name + " ") || line.hasPrefix(name + "{") {
            if let value = line.split(separator: " ").last.flatMap({ Double($0) }) { return value }
        }
        return nil
    }

    @Test func exposesCommentsDeliveriesViewersAndTheWindow() async throws {
        try await withServer({ $0.logic.words = ["forbidden"] }) { _, port in
            let viewers = [try await TestViewer.join(port: port, room: "m"), try await TestViewer.join(port: port, room: "m")]
            for index in 0..<3 {
                #expect(try await postComment(port: port, room: "m", json: #"{"text":"hi \#(index)"}"#).status == 201)
            }
            #expect(try await postComment(port: port, room: "m", json: #"{"text":"forbidden"}"#).status == 422)
            for viewer in viewers { try await viewer.waitForComments(3) }
            let reply = try await httpRequest(port: port, method: "GET", path: "/metrics")
            #expect(reply.status == 200)
            #expect(reply.headers["content-type"]?.hasPrefix("text/plain") == true)
            let text = String(decoding: reply.body, as: UTF8.self)
            #expect(sample(text, "danmaku_comments_accepted_total") == 3)
            #expect(sample(text, #"danmaku_comments_rejected_total{reason="filtered"}"#) == 1)
            #expect(sample(text, "danmaku_deliveries_total") == 6)
            // Two to six frames (batches of one to three comments per viewer), each comment of them
            // well over 50 bytes of JSON.
            let frames = try #require(sample(text, "danmaku_frames_total"))
            #expect((2...6).contains(frames))
            #expect(sample(text, "danmaku_sent_bytes_total") ?? 0 > 6 * 50)
            #expect(sample(text, "danmaku_viewers") == 2)
            #expect(sample(text, "danmaku_connections") ?? 0 >= 3, "two viewers and this request")
            #expect(sample(text, "danmaku_rooms") ?? 0 >= 1)
            #expect(sample(text, #"danmaku_batch_window_seconds{loop="0"}"#) != nil)
            #expect(text.contains("danmaku_flush_duration_seconds"))
            // The room's batches, by its size on the loop: two viewers.
            #expect(sample(text, #"danmaku_room_fanout_seconds_count{viewers="1-10"}"#) ?? 0 >= 1)
            #expect(sample(text, #"danmaku_room_fanout_seconds_count{viewers="11-100"}"#) == 0)
            #expect(sample(text, #"danmaku_post_duration_seconds_count{outcome="accepted"}"#) == 3)
            #expect(sample(text, "danmaku_batch_wait_seconds_count") ?? 0 >= 1, "every batch records its wait")
            #expect(sample(text, #"danmaku_post_duration_seconds_count{outcome="rejected"}"#) == 1)
            // Each of the three posts reached the push hub as one bus message, in well under a second.
            #expect(sample(text, "danmaku_bus_latency_seconds_count") == 3)
            #expect(sample(text, #"danmaku_bus_latency_seconds_bucket{le="1.0"}"#) == 3, "\(text.split(separator: "\n").filter { $0.contains("bus_latency") })")
            for viewer in viewers { await viewer.close() }
        }
    }

    @Test func everyMetricHasHelpTextAndPromtoolFindsNothingToReport() async throws {
        try await withServer({ $0.logic.words = ["forbidden"] }) { _, port in
            let viewer = try await TestViewer.join(port: port, room: "p")
            #expect(try await postComment(port: port, room: "p", json: #"{"text":"hi"}"#).status == 201)
            #expect(try await postComment(port: port, room: "p", json: #"{"text":"forbidden"}"#).status == 422)
            try await viewer.waitForComments(1)
            let text = String(decoding: try await httpRequest(port: port, method: "GET", path: "/metrics").body, as: UTF8.self)
            let typed = text.split(separator: "\n").filter { $0.hasPrefix("# TYPE ") }.map { $0.split(separator: " ")[2] }
            let helped = Set(text.split(separator: "\n").filter { $0.hasPrefix("# HELP ") }.map { $0.split(separator: " ")[2] })
            #expect(typed.count >= 10)
            for name in typed { #expect(helped.contains(name), "\(name) has no # HELP") }
            let report = try await Promtool.checkMetrics(text)
            #expect(report.isEmpty, "promtool check metrics: \(report)")
            await viewer.close()
        }
    }
}
