import DanmakuCore
import Foundation
import Testing

/// Rates, waits and clock readings from outside cannot reach a trapping conversion.
@Suite struct TotalArithmeticTests {
    @Test func ratesAreFiniteAndWithinTheirBounds() {
        #expect(RateLimit(parsing: "0.001/1") == RateLimit(perSecond: 0.001, burst: 1))
        #expect(RateLimit(parsing: "1000000000/1000000000") == RateLimit(perSecond: 1_000_000_000, burst: 1_000_000_000))
        #expect(RateLimit(parsing: "2/10") == RateLimit(perSecond: 2, burst: 10))
        #expect(RateLimit(parsing: "0.5") == RateLimit(perSecond: 0.5, burst: 1))
        for refused in [
            "1e-20/1", "1e-300/1", "0.0009/1", "0/1", "-1/1", "-0/1", "nan/1", "NaN", "inf", "inf/1", "-inf/1", "1/inf", "1/nan",
            "1e308/1", "1/1e308", "1000000001/1", "1/1000000001", "1/0", "1/0.5", "1/-1", "1/", "/1", "1/2/3", "", "x", "1e309",
        ] {
            #expect(RateLimit(parsing: refused) == nil, "\(refused) must be refused")
        }
        #expect(RateLimit(checkedPerSecond: .nan, burst: 1) == nil)
        #expect(RateLimit(checkedPerSecond: 1, burst: .infinity) == nil)
        #expect(RateLimit(checkedPerSecond: 1e-20, burst: 1) == nil)
    }

    @Test func descriptionReadsBackAndNeverTraps() {
        for text in ["0.001/1", "2/10", "0.5/1.5", "1000000000/1000000000", "123456.789/7"] {
            let limit = RateLimit(parsing: text)
            #expect(limit != nil)
            #expect(limit.flatMap { RateLimit(parsing: $0.description) } == limit, "\(text)")
        }
        #expect(RateLimit(perSecond: 1_000_000_000, burst: 1).description == "1000000000/1")
    }

    @Test func theSlowestRateWaitsAtMostAThousandSeconds() {
        let limit = RateLimit(perSecond: 0.001, burst: 1)
        var bucket = TokenBucket(limit: limit, now: 0)
        #expect(bucket.available(limit: limit, now: 0) >= 1)
        bucket.take()
        #expect(bucket.available(limit: limit, now: 0) < 1)
        #expect(RetryAfter.seconds(bucket.secondsUntilToken(limit: limit)) == 1000)
    }

    @Test func waitsSaturate() {
        #expect(RetryAfter.seconds(0) == 1)
        #expect(RetryAfter.seconds(-5) == 1)
        #expect(RetryAfter.seconds(0.2) == 1)
        #expect(RetryAfter.seconds(1.2) == 2)
        #expect(RetryAfter.seconds(1e20) == RetryAfter.maxSeconds)
        #expect(RetryAfter.seconds(.infinity) == RetryAfter.maxSeconds)
        #expect(RetryAfter.seconds(-.infinity) == 1)
        #expect(RetryAfter.seconds(.nan) == RetryAfter.maxSeconds)
        #expect(RetryAfter.seconds(milliseconds: 1) == 1)
        #expect(RetryAfter.seconds(milliseconds: 1001) == 2)
        #expect(RetryAfter.seconds(milliseconds: 0) == 1)
        #expect(RetryAfter.seconds(milliseconds: -1) == 1)
        #expect(RetryAfter.seconds(milliseconds: .min) == 1)
        #expect(RetryAfter.seconds(milliseconds: .max) == RetryAfter.maxSeconds)
        #expect(RetryAfter.seconds(milliseconds: .max - 998) == RetryAfter.maxSeconds)
    }

    @Test func floatingPointConversionsSaturate() {
        #expect(Int64(saturating: 1.9) == 1)
        #expect(Int64(saturating: -1.1) == -2)
        #expect(Int64(saturating: 1e300) == .max)
        #expect(Int64(saturating: -1e300) == .min)
        #expect(Int64(saturating: 9.223372036854775807e18) == .max)
        #expect(Int64(saturating: .nan) == 0)
        #expect(Int(saturating: .infinity) == .max)
    }
}
