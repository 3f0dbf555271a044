// Danmaku — a live-stream bullet-comment service.

/// An idempotency key as a client sent it (the `Idempotency-Key` header of an HTTP post, the
/// `idempotencyKey` of a socket comment), checked: 1 to `maxBytes` bytes of printable ASCII.
public struct IdempotencyKey: Hashable, Sendable {
    /// The longest key taken.
    public static let maxBytes = 128

    /// The key.
    public let value: String

    /// The key of a header or field value (nil: none sent, no key), or 400 `invalid_idempotency_key`.
    public static func parse(_ header: String?) -> Result<IdempotencyKey?, DanmakuError> {
        guard let header else { return .success(nil) }
        guard HeaderToken.isValid(header, maxBytes: maxBytes) else {
            return .failure(.invalidIdempotencyKey(maxBytes: maxBytes))
        }
        return .success(IdempotencyKey(value: header))
    }
}

/// What a client may name a thing by in a header (an idempotency key, a request id).
public enum HeaderToken {
    /// Whether `value` is 1 to `maxBytes` bytes of visible ASCII (no space, no control).
    public static func isValid(_ value: String, maxBytes: Int) -> Bool {
        (1...max(1, maxBytes)).contains(value.utf8.count) && value.utf8.allSatisfy { (0x21...0x7E).contains($0) }
    }
}
