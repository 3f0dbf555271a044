// Danmaku — a live-stream bullet-comment service.

/// A token-bucket rate: `perSecond` sustained, up to `burst` at once.
public struct RateLimit: Sendable, Hashable, CustomStringConvertible {
    /// Tokens added per second.
    public var perSecond: Double
    /// Bucket capacity.
    public var burst: Double

    public init(perSecond: Double, burst: Double) {
        precondition(perSecond > 0 && burst >= 1, "a rate limit needs a positive rate and a burst of at least 1")
        self.perSecond = perSecond
        self.burst = burst
    }

    /// Parses `RATE/BURST` (e.g. `2/10`) or just `RATE` (burst = rate).
    public init?(parsing text: String) {
        let parts = text.split(separator: "/")
        guard (1...2).contains(parts.count), let rate = Double(parts[0]), rate > 0 else { return nil }
        let burst = parts.count == 2 ? Double(parts[1]) : max(1, rate)
        guard let burst, burst >= 1 else { return nil }
        self.init(perSecond: rate, burst: burst)
    }

    /// `RATE/BURST`, as `init(parsing:)` reads it (whole numbers without a decimal point).
    public var description: String {
        func number(_ value: Double) -> String { value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value) }
        return "\(number(perSecond))/\(number(burst))"
    }
}

/// One token bucket; time is passed in so that tests need no clock.
public struct TokenBucket: Sendable {
    private var tokens: Double
    private var updatedAt: Double

    /// A full bucket at time `now` (seconds).
    public init(limit: RateLimit, now: Double) {
        tokens = limit.burst
        updatedAt = now
    }

    /// Tokens available at `now` after refilling.
    public mutating func available(limit: RateLimit, now: Double) -> Double {
        if now > updatedAt {
            tokens = min(limit.burst, tokens + (now - updatedAt) * limit.perSecond)
            updatedAt = now
        }
        return tokens
    }

    /// Takes one token; the caller has checked `available` first.
    public mutating func take() {
        tokens -= 1
    }

    /// Gives back a token taken for something that did not happen (never above the burst).
    public mutating func giveBack(limit: RateLimit) {
        tokens = min(limit.burst, tokens + 1)
    }

    /// Seconds until one token is available.
    public func secondsUntilToken(limit: RateLimit) -> Double {
        max(0, (1 - tokens) / limit.perSecond)
    }

    /// Whether the bucket is full at `now`, i.e. forgetting it changes nothing.
    public func isFull(limit: RateLimit, now: Double) -> Bool {
        tokens + (now - updatedAt) * limit.perSecond >= limit.burst
    }
}
