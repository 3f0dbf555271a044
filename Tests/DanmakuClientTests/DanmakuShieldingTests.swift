import DanmakuClient
import Foundation
import Testing

/// The client's copy of the weight formula, and weights it receives read without trusting them.
@Suite struct DanmakuShieldingTests {
    let viewer = DanmakuComment.Author(id: "u", name: "U")

    @Test func weighsAsTheServerDoes() {
        #expect([0, 1, 3, 7, 15, 1 << 20].map { DanmakuShielding.weight(accepted: 3, author: viewer, likes: $0) } == [3, 4, 5, 6, 7, 7])
        #expect(DanmakuShielding.weight(accepted: nil, author: viewer, likes: 0) == 5, "no weight: by standing")
        #expect(DanmakuShielding.weight(accepted: nil, author: .init(id: "anon-1", name: "a"), likes: 0) == 2)
        #expect(DanmakuShielding.weight(accepted: nil, author: .init(id: "m", name: "M", role: "moderator"), likes: 7) == 10, "at most 10")
        #expect(DanmakuShielding.weight(accepted: 0, author: viewer, likes: Int.min) == 5, "out of range: by standing")
        #expect([Int.min, 0, 5, 11, Int.max].map(DanmakuShielding.level) == [1, 1, 5, 10, 10])
    }

    @Test func aCraftedWeightIsDroppedNotTheComment() throws {
        for crafted in ["0", "11", "1e300", "\"7\"", "99999999999999999999"] {
            let json = #"{"seq":1,"id":"c","room":"r","text":"t","ts":1,"user":{"id":"u","name":"U"},"weight":\#(crafted)}"#
            let comment = try JSONDecoder().decode(DanmakuComment.self, from: Data(json.utf8))
            #expect(comment.weight == nil && comment.currentWeight == 5, "\(crafted)")
        }
        let notice = #"{"seq":2,"id":"n","room":"r","kind":"notice","ts":1,"user":{"id":"s","name":"S","role":"streamer"}}"#
        #expect(try JSONDecoder().decode(DanmakuComment.self, from: Data(notice.utf8)).currentWeight == 10, "never shielded")
    }
}
