import DanmakuBus
import DanmakuCore
import Foundation
import Testing

@testable import DanmakuPush

/// Merged repeats through a viewer's pipeline, on virtual time: the frame a batch of repeats
/// becomes, and the setting that turns it on or off.
@Suite struct MergedRepeatsTests {
    @Test func aBatchSendsRepeatsOnceAndAccountsForEverySeq() async throws {
        let harness = ViewerHarness { $0.mergeRepeats = true }
        let channel = try harness.connect()
        _ = try harness.frames(channel)
        try await harness.post(3, text: "666")
        try await harness.post(1, text: "other")
        harness.loop.advanceTime(by: .milliseconds(10))
        let frames = try harness.frames(channel)
        #expect(frames.count == 1)
        let batch = try #require(frames.first)
        #expect(try seqs(batch) == [1, 4])
        let message = try json(batch)
        #expect((message["merged"] as? [[NSNumber]])?.map { $0.map(\.uint64Value) } == [[1, 2, 3]])
        #expect((message["lastSeq"] as? NSNumber)?.uint64Value == 4)
    }

    @Test func aRoomsSettingOverridesTheNodesDefault() async throws {
        let harness = ViewerHarness { $0.mergeRepeats = true }
        try await harness.hub.moderation.update(RoomSettings(mergeRepeats: false), room: harness.room)
        let channel = try harness.connect()
        _ = try harness.frames(channel)
        try await harness.post(3, text: "666")
        harness.loop.advanceTime(by: .milliseconds(10))
        let frames = try harness.frames(channel)
        #expect(try frames.map(seqs) == [[1, 2, 3]])
        #expect(try json(frames[0])["merged"] == nil)
    }
}
