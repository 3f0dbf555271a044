// Danmaku — a live-stream bullet-comment service.

/// The one way a number a client sent (query parameter, header, path part, message field)
/// becomes a value the server computes with: its text is parsed and its range checked before it
/// is an `Int`, so no input can trap on a conversion or on the arithmetic that follows.
///
/// Every refusal is `400 invalid_<name>` with a message naming the parameter and its range.
public enum ClientNumber {
    /// The largest seq, stream id or offset a client may name. Stores keep these as signed 64-bit
    /// integers (SQLite, Redis), and `value + 1` must still fit.
    public static let maxSeq: UInt64 = UInt64(Int64.max) - 1

    /// Any seq a client may resume after (`since`, `Last-Event-ID`, a `join`'s `since`).
    public static let seqRange: ClosedRange<UInt64> = 0...maxSeq
    /// The largest offset into a stream or a video a client may name: 100 years in milliseconds
    /// (so `start + offset` cannot overflow).
    public static let maxOffsetMilliseconds: UInt64 = 100 * 365 * 86_400_000
    /// Any epoch a client may name (a room's numbering: ms since the Unix epoch when it began).
    public static let epochRange: ClosedRange<UInt64> = 0...UInt64(Int64.max)

    /// `text` as an integer in `range`: ASCII digits only (no sign, space, fraction or exponent),
    /// at most 20 of them, so nothing is converted before it is known to fit.
    public static func parse(_ text: some StringProtocol, name: String, in range: ClosedRange<UInt64>) -> Result<UInt64, DanmakuError> {
        var value: UInt64 = 0
        let digits = text.utf8
        guard !digits.isEmpty, digits.count <= 20 else { return .failure(refusal(name, range)) }
        for byte in digits {
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return .failure(refusal(name, range)) }
            let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(UInt64(byte &- UInt8(ascii: "0")))
            guard !overflow1, !overflow2 else { return .failure(refusal(name, range)) }
            value = sum
        }
        return check(value, name: name, in: range)
    }

    /// An already decoded number (a JSON field) checked against `range`.
    public static func check(_ value: UInt64, name: String, in range: ClosedRange<UInt64>) -> Result<UInt64, DanmakuError> {
        range.contains(value) ? .success(value) : .failure(refusal(name, range))
    }

    /// `invalid_<name>` for a parameter given more than once.
    public static func repeated(_ name: String) -> DanmakuError {
        .invalidField(name, "\(name) must be given at most once")
    }

    /// `invalid_<name>` for a value that is not an integer in `range` (e.g. a JSON number of the
    /// wrong form, found by a decoder).
    public static func refusal<Bound: BinaryInteger>(_ name: String, _ range: ClosedRange<Bound>) -> DanmakuError {
        .invalidField(name, "\(name) must be an integer from \(range.lowerBound) to \(range.upperBound)")
    }
}

extension ClientNumber {
    /// The JSON number at `key` of a request body (a staff setting, a ban's seconds) as an integer
    /// in `range`. Anything else there — a fraction, `1e308`, `-1`, `2^63`, a string such as
    /// `"NaN"`, `null` — is `invalid_<key>`, never a trap and never a generic JSON error.
    public static func decode<Key: CodingKey>(_ container: KeyedDecodingContainer<Key>, _ key: Key, in range: ClosedRange<Int>) throws(DanmakuError) -> Int {
        guard let value = try? container.decode(Int.self, forKey: key), range.contains(value) else { throw refusal(key.stringValue, range) }
        return value
    }
}
