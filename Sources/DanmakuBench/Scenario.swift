// Danmaku — a live-stream bullet-comment service.

/// A named workload: rooms × viewers per room, and a total comment rate (infinite: posts as fast
/// as the server answers them, a closed loop).
public struct Scenario: Sendable, Equatable {
    public var name: String
    public var rooms: Int
    public var viewersPerRoom: Int
    public var commentsPerSecond: Double

    public init(name: String, rooms: Int, viewersPerRoom: Int, commentsPerSecond: Double) {
        self.name = name
        self.rooms = rooms
        self.viewersPerRoom = viewersPerRoom
        self.commentsPerSecond = commentsPerSecond
    }

    /// The workloads BENCHMARKS.md reports.
    public static let named: [String: Scenario] = [
        "one-room": Scenario(name: "one-room", rooms: 1, viewersPerRoom: 10_000, commentsPerSecond: 200),
        "hot-room": Scenario(name: "hot-room", rooms: 1, viewersPerRoom: 20_000, commentsPerSecond: 1000),
        "many-rooms": Scenario(name: "many-rooms", rooms: 100, viewersPerRoom: 100, commentsPerSecond: 2000),
        "idle": Scenario(name: "idle", rooms: 1, viewersPerRoom: 20_000, commentsPerSecond: 0),
        "big": Scenario(name: "big", rooms: 1, viewersPerRoom: 100_000, commentsPerSecond: 200),
        // What a post costs: as many posts as the server takes, spread over 10 rooms with one viewer each.
        "posts": Scenario(name: "posts", rooms: 10, viewersPerRoom: 1, commentsPerSecond: .infinity),
    ]
}
