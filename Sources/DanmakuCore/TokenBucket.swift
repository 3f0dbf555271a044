// Danmaku — a live-stream bullet-comment service.

/// A token-bucket rate: `perSecond` sustained, up to `burst` at once.
///
/// Both are finite and within `perSecondRange` and `burstRange`: every rate from outside (flags,
/// room settings, Redis replies) is read with `init(parsing:)` or `init(checkedPerSecond:burst:)`,
/// which refuse anything else, so the arithmetic on a bucket cannot overflow or wait for ever.
public struct RateLimit: Sendable, Hashable, CustomStringConvertible {
    /// Tokens added per second.
    public private(set) var perSecond: Double
    /// Bucket capacity.
    public private(set) var burst: Double

    /// The slowest rate: one token in 1,000 s, so a wait for a token is at most 1,000 s.
    public static let minPerSecond = 0.001
    /// The fastest rate.
    public static let maxPerSecond = 1_000_000_000.0
    /// Any rate a limit may have.
    public static let perSecondRange = minPerSecond...maxPerSecond
    /// Any burst a limit may have.
    public static let burstRange = 1.0...1_000_000_000.0

    /// A rate or burst written in the source: a literal, so no input can reach the initializer
    /// that traps on a value out of range (values from outside use `init(checkedPerSecond:burst:)`).
    public struct Literal: ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral, Sendable {
        let value: Double
        public init(integerLiteral value: Int) { self.value = Double(value) }
        public init(floatLiteral value: Double) { self.value = value }
    }

    /// A limit written in the source, e.g. a default (`RateLimit(perSecond: 2, burst: 10)`).
    public init(perSecond: Literal, burst: Literal) {
        precondition(
            Self.perSecondRange.contains(perSecond.value) && Self.burstRange.contains(burst.value),
            "a rate limit needs a rate within RateLimit.perSecondRange and a burst within RateLimit.burstRange")
        self.perSecond = perSecond.value
        self.burst = burst.value
    }

    /// A limit from values read at run time; nil unless both are finite and in range.
    public init?(checkedPerSecond perSecond: Double, burst: Double) {
        guard Self.perSecondRange.contains(perSecond), Self.burstRange.contains(burst) else { return nil }
        self.perSecond = perSecond
        self.burst = burst
    }

    /// Parses `RATE/BURST` (e.g. `2/10`) or just `RATE` (burst = rate, at least 1); nil unless
    /// both are finite and in range (`nan`, `inf`, `1e-20` and `0` are refused).
    public init?(parsing text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), let rate = Double(parts[0]) else { return nil }
        let burst = parts.count == 2 ? Double(parts[1]) : max(1, rate)
        guard let burst else { return nil }
        self.init(checkedPerSecond: rate, burst: burst)
    }

    /// `RATE/BURST`, as `init(parsing:)` reads it (whole numbers without a decimal point).
    public var description: String {
        func number(_ value: Double) -> String { Int64(exactly: value).map { String($0) } ?? String(value) }
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
