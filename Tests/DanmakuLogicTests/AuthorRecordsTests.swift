import DanmakuCore
import DanmakuLogic
import Testing

/// An author's recent removals and bans in a room: what they take off, for how long, and the bound
/// on what is held.
@Suite struct AuthorRecordsTests {
    let room = RoomID("r")!
    let day = AuthorRecords.window

    @Test func removalsCountOneEachUpToTheirCapForADay() {
        let records = AuthorRecords()
        #expect(records.penalty(of: "troll", room: room, now: 0) == 0)
        for time in 0..<5 { records.noteRemoval(of: "troll", room: room, now: Double(time)) }
        #expect(records.penalty(of: "troll", room: room, now: 10) == AuthorRecords.maxRemovals)
        #expect(records.penalty(of: "troll", room: RoomID("other")!, now: 10) == 0, "per room")
        #expect(records.penalty(of: "ann", room: room, now: 10) == 0, "per author")
        #expect(records.penalty(of: "troll", room: room, now: 3 + day) == 1, "the older ones have run out")
        #expect(records.penalty(of: "troll", room: room, now: 4 + day) == 0)
    }

    @Test func aBanCountsUntilADayAfterItEndsUnlessLifted() {
        let records = AuthorRecords()
        records.noteBan(of: "troll", room: room, until: 100)
        #expect(records.penalty(of: "troll", room: room, now: 50) == AuthorRecords.banPenalty)
        #expect(records.penalty(of: "troll", room: room, now: 100 + day - 1) == AuthorRecords.banPenalty, "after it ended")
        #expect(records.penalty(of: "troll", room: room, now: 100 + day) == 0)
        records.noteRemoval(of: "troll", room: room, now: 60)
        #expect(records.penalty(of: "troll", room: room, now: 70) == AuthorRecords.banPenalty + 1)
        records.noteUnban(of: "troll", room: room)
        #expect(records.penalty(of: "troll", room: room, now: 70) == 1, "a lifted ban is forgiven; removals stay")
        #expect(AuthorRecords.maxRemovals + AuthorRecords.banPenalty == CommentWeight.maxPenalty)
    }

    @Test func atCapacityTheLeastRecentlyMarkedIsForgotten() {
        let records = AuthorRecords(capacity: 3)
        for user in ["a", "b", "c"] { records.noteRemoval(of: user, room: room, now: 0) }
        records.noteRemoval(of: "a", room: room, now: 1)
        records.noteBan(of: "d", room: room, until: 10)
        #expect(records.count == 3)
        #expect(records.penalty(of: "b", room: room, now: 2) == 0, "b was marked least recently")
        #expect(records.penalty(of: "a", room: room, now: 2) == 2 && records.penalty(of: "c", room: room, now: 2) == 1)
        records.noteUnban(of: "nobody", room: room)
        #expect(records.count == 3, "lifting a ban nobody had holds nothing new")
    }
}
