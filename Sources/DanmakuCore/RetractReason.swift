// Danmaku — a live-stream bullet-comment service.

/// Why a comment was taken off viewers' screens, when it was not its author or a moderator
/// acting on it directly: carried over the bus to push nodes and on to viewers as the `reason`
/// of a `retract` message (left out for an author's recall and a moderator's retraction).
public enum RetractReason: String, Codable, Sendable, Hashable {
    /// Enough viewers reported it (the room's `reportsToHide`): hidden pending staff review.
    case reported
    /// A Redis failover lost it: the master promoted had not received it, so history does not
    /// hold it, and no logic node was left to take it back (its post was never answered 201).
    case lost
}
