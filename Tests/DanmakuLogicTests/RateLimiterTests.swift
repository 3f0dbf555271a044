import DanmakuCore
import DanmakuLogic
import Testing

@Suite struct RateLimiterTests {
    @Test func allowsBurstThenRefillsAtRate() {
        let limiter = RateLimiter(limits: [.user: RateLimit(perSecond: 2, burst: 3)])
        for _ in 0..<3 { #expect(limiter.acquire(keys: [.user: "u"], now: 100) == nil) }
        let refused = limiter.acquire(keys: [.user: "u"], now: 100)
        #expect(refused?.code == "rate_limited")
        #expect(refused?.status == 429)
        #expect(refused?.retryAfterSeconds == 1)
        #expect(limiter.acquire(keys: [.user: "u"], now: 100.5) == nil)
        #expect(limiter.acquire(keys: [.user: "u"], now: 100.5) != nil)
    }

    @Test func keysAreIndependent() {
        let limiter = RateLimiter(limits: [.user: RateLimit(perSecond: 1, burst: 1)])
        #expect(limiter.acquire(keys: [.user: "a"], now: 0) == nil)
        #expect(limiter.acquire(keys: [.user: "b"], now: 0) == nil)
        #expect(limiter.acquire(keys: [.user: "a"], now: 0) != nil)
    }

    @Test func takesNothingWhenAnyScopeRefuses() {
        let limiter = RateLimiter(limits: [
            .user: RateLimit(perSecond: 1, burst: 5), .room: RateLimit(perSecond: 1, burst: 1),
        ])
        #expect(limiter.acquire(keys: [.user: "u", .room: "r"], now: 0) == nil)
        let refused = limiter.acquire(keys: [.user: "u", .room: "r"], now: 0)
        #expect(refused?.message.contains("room") == true)
        // The user bucket was not charged for the refused comment: 4 tokens remain.
        for _ in 0..<4 { #expect(limiter.acquire(keys: [.user: "u", .room: "other\(Int.random(in: 0..<1_000_000))"], now: 0) == nil) }
        #expect(limiter.acquire(keys: [.user: "u", .room: "z"], now: 0) != nil)
    }

    @Test func memoryStaysBoundedUnderManyKeys() {
        let limiter = RateLimiter(limits: [.ip: RateLimit(perSecond: 1, burst: 1)], maxTrackedKeys: 100)
        for index in 0..<100 { #expect(limiter.acquire(keys: [.ip: "10.0.0.\(index)"], now: 0) == nil) }
        // Full: new keys are refused while every tracked bucket is still draining…
        #expect(limiter.acquire(keys: [.ip: "new"], now: 0.5)?.code == "rate_limited")
        #expect(limiter.trackedKeys(.ip) == 100)
        // …and accepted once refilled buckets can be forgotten.
        #expect(limiter.acquire(keys: [.ip: "new"], now: 2) == nil)
        #expect(limiter.trackedKeys(.ip) == 1)
    }

    @Test func parsesRates() {
        #expect(RateLimit(parsing: "2/10") == RateLimit(perSecond: 2, burst: 10))
        #expect(RateLimit(parsing: "5") == RateLimit(perSecond: 5, burst: 5))
        #expect(RateLimit(parsing: "0.5") == RateLimit(perSecond: 0.5, burst: 1))
        #expect(RateLimit(parsing: "x/1") == nil)
        #expect(RateLimit(parsing: "1/0") == nil)
        #expect(RateLimit(parsing: "-1") == nil)
    }
}

@Suite struct DuplicateSuppressorTests {
    @Test func refusesRepeatsWithinWindowOnly() {
        let suppressor = DuplicateSuppressor(window: 10)
        #expect(!suppressor.isDuplicate(user: "u", normalizedText: "hi", now: 0))
        #expect(suppressor.isDuplicate(user: "u", normalizedText: "hi", now: 5))
        #expect(!suppressor.isDuplicate(user: "v", normalizedText: "hi", now: 5))
        #expect(!suppressor.isDuplicate(user: "u", normalizedText: "hi", now: 10.5))
    }

    @Test func capacityBoundsMemory() {
        let suppressor = DuplicateSuppressor(window: 100, capacity: 3)
        for text in ["a", "b", "c", "d"] { #expect(!suppressor.isDuplicate(user: "u", normalizedText: text, now: 0)) }
        // "a" was forgotten early to make room; "d" is remembered.
        #expect(!suppressor.isDuplicate(user: "u", normalizedText: "a", now: 1))
        #expect(suppressor.isDuplicate(user: "u", normalizedText: "d", now: 1))
    }
}
