// Danmaku — a live-stream bullet-comment service.

import DanmakuCore

/// The rooms one viewer watches, by room id. A viewer watches one room, at most a handful
/// (`maxRoomsPerViewer`): an array searched in order is as fast as a dictionary at that size
/// and a fraction of its memory, which every idle connection pays.
struct ViewerRooms {
    private var subscriptions: [RoomSubscription] = []

    /// The subscription to `room`; setting nil leaves it.
    subscript(room: RoomID) -> RoomSubscription? {
        get { subscriptions.first { $0.room == room } }
        set {
            let index = subscriptions.firstIndex { $0.room == room }
            switch (index, newValue) {
            case (let index?, let subscription?): subscriptions[index] = subscription
            case (let index?, nil): subscriptions.remove(at: index)
            case (nil, let subscription?): subscriptions.append(subscription)
            case (nil, nil): break
            }
        }
    }

    /// Leaves `room`; its subscription, or nil when the viewer did not watch it.
    mutating func removeValue(forKey room: RoomID) -> RoomSubscription? {
        guard let index = subscriptions.firstIndex(where: { $0.room == room }) else { return nil }
        return subscriptions.remove(at: index)
    }

    mutating func removeAll() { subscriptions.removeAll() }

    var count: Int { subscriptions.count }

    /// Every subscription, in the order the rooms were joined.
    var values: [RoomSubscription] { subscriptions }
}
