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
        let bytes = header.utf8
        guard (1...maxBytes).contains(bytes.count), bytes.allSatisfy({ (0x21...0x7E).contains($0) }) else {
            return .failure(.invalidIdempotencyKey(maxBytes: maxBytes))
        }
        return .success(IdempotencyKey(value: header))
    }
}
