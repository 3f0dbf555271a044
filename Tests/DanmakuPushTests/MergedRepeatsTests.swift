import DanmakuBus
import DanmakuCore
import DanmakuTestSupport
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

extension MergedRepeatsTests {
    /// Every seq a viewer's batches account for (carried, or inside a merged group), in order.
    static func accounted(_ frames: [ParsedFrame]) throws -> [UInt64] {
        var seqs: [UInt64] = []
        for frame in frames {
            let message = try json(frame)
            guard message["type"] as? String == "comments" else { continue }
            seqs += try DanmakuPushTests.seqs(frame)
            for group in message["merged"] as? [[NSNumber]] ?? [] { seqs += group.dropFirst().map(\.uint64Value) }
        }
        return seqs.sorted()
    }

    /// The join race of `ViewerHandlerTests.commentsFlushedWhileAViewerJoinsAreNotLost`, with every
    /// comment the same text: the live viewer gets merged batches, the joining one the batch it
    /// buffered whole, and each accounts for every seq once.
    @Test func aViewerJoiningWhileRepeatsAreMergedStillGetsEverySeqOnce() async throws {
        var push = PushConfiguration()
        push.mergeRepeats = true
        let race = JoinRace(push: push)
        let (loop, log, harness) = (race.loop, race.log, ViewerHarness())
        func post(_ id: Int) async throws { try await race.post(id, text: "666") }
        let first = try race.connect()
        try log.readOldest(on: loop)()
        try await post(1)
        let second = try race.connect()
        try await post(2)
        let deliver = try log.readOldest(on: loop)
        try await post(3)
        loop.advanceTime(by: .milliseconds(10))
        deliver()
        try await post(4)
        try await post(5)
        loop.advanceTime(by: .milliseconds(10))

        let firstFrames = try harness.frames(first)
        #expect(try Self.accounted(firstFrames) == [1, 2, 3, 4, 5])
        #expect(try firstFrames.contains { try json($0)["merged"] != nil }, "the live viewer's batches were merged")
        let secondFrames = try harness.frames(second)
        #expect(try Self.accounted(Array(secondFrames.dropFirst())) == [3, 4, 5], "after its history (lastSeq 2), each seq once")
    }
}
