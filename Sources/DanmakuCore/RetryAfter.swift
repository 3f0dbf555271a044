// Danmaku — a live-stream bullet-comment service.

/// The one way a wait becomes the seconds a refusal names (`Retry-After`, an `error` message's
/// `retryAfter`): rounded up, at least 1 and at most `maxSeconds`, whatever the wait was computed
/// from (a token bucket, a ban, slow mode, a number in a Redis reply), so that no wait can trap
/// on its conversion to `Int` or on the arithmetic that follows.
public enum RetryAfter {
    /// The longest wait a refusal names: 30 days, the longest ban.
    public static let maxSeconds = 30 * 86_400

    /// `interval` seconds, rounded up, within 1...maxSeconds (NaN: `maxSeconds`).
    public static func seconds(_ interval: Double) -> Int {
        guard !interval.isNaN else { return maxSeconds }
        let rounded = interval.rounded(.up)
        guard rounded < Double(maxSeconds) else { return maxSeconds }
        guard rounded > 1 else { return 1 }
        return Int(exactly: rounded) ?? maxSeconds
    }

    /// `milliseconds` (e.g. a `PTTL` or a Lua script's answer), rounded up to seconds, within
    /// 1...maxSeconds: a negative or huge count cannot overflow.
    public static func seconds(milliseconds: Int64) -> Int {
        guard milliseconds > 0 else { return 1 }
        // At most Int64.max / 1000 + 1: no overflow.
        let seconds = Int(clamping: milliseconds / 1000 + (milliseconds % 1000 > 0 ? 1 : 0))
        return min(max(1, seconds), maxSeconds)
    }
}
