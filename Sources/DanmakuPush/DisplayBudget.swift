// Danmaku — a live-stream bullet-comment service.

import DanmakuCore
import NIOCore

/// A room's display budget on one loop: how many comments a second its viewers are sent.
///
/// A screen cannot show a thousand comments a second; past the budget, each batch keeps every
/// notice and privileged author's comment, and an even sample of the others. Credit accrues at
/// `perSecond` (at most one second's worth is saved up) and each comment sent spends one.
public struct DisplayBudget: Sendable {
    /// Comments a second each viewer is sent (priority ones included).
    public let perSecond: Int
    private var credit: Double = 0
    private var updatedAt: NIODeadline

    /// A budget whose credit starts accruing at `now`, from zero.
    public init(perSecond: Int, now: NIODeadline) {
        self.perSecond = perSecond
        self.updatedAt = now
    }

    /// Splits a batch into what every viewer is sent and what is held back (shed), both in seq order.
    public mutating func select(_ batch: [EncodedComment], now: NIODeadline) -> (sent: [EncodedComment], held: [EncodedComment]) {
        let budget = Double(perSecond)
        credit = min(budget, credit + budget * Double((now - updatedAt).nanoseconds) / 1e9)
        updatedAt = now
        var keep = batch.map(\.isPriority)
        let priority = keep.lazy.filter { $0 }.count
        let ordinary = keep.indices.filter { !keep[$0] }
        // Priority comments spend credit too (never below a second's worth of debt, so that a
        // burst of notices cannot starve the room for long).
        credit = max(-budget, credit - Double(priority))
        let take = min(ordinary.count, max(0, Int(saturating: credit)))
        credit -= Double(take)
        if take == ordinary.count {
            for index in ordinary { keep[index] = true }
        } else {
            // The middle of each of `take` equal slices: spread over the window, not its start.
            for slice in 0..<take { keep[ordinary[(2 * slice + 1) * ordinary.count / (2 * take)]] = true }
        }
        var sent: [EncodedComment] = []
        var held: [EncodedComment] = []
        sent.reserveCapacity(priority + take)
        for (index, comment) in batch.enumerated() {
            if keep[index] { sent.append(comment) } else { held.append(comment) }
        }
        return (sent, held)
    }
}
