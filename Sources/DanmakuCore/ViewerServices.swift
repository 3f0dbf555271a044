// Danmaku — a live-stream bullet-comment service.

/// What a viewer's socket asks of the logic tier, and nothing more: who a token belongs to,
/// posting a comment, and whether an expensive read (the history a join or a resume reads) may
/// go ahead.
///
/// The push role is handed this port rather than the logic tier itself, so it depends on what
/// it uses; `ViewerGateway` (DanmakuLogic) is the implementation.
public protocol ViewerServices: Sendable {
    /// The author a posting token stands for in `room`, or nil when posting is open to all or
    /// the token is not valid there (the viewer then simply stays unknown).
    func author(token: String, room: RoomID) async -> CommentAuthor?
    /// Checks, stores and publishes the comment in `body` (a viewer's `comment` message, JSON),
    /// posted with `token` from `clientAddress`: its receipt (what the `ack` says) and its
    /// author's id. With `idempotencyKey`, a retry by the same author within the window gets the
    /// first post's receipt instead of posting again, as an HTTP post with that key would.
    func post(
        _ body: [UInt8], room: RoomID, token: String?, clientAddress: String, idempotencyKey: IdempotencyKey?
    ) async -> Result<(receipt: CommentReceipt, authorID: String), DanmakuError>
    /// `post`, answered before it returns when the node can (its log, bus and moderation state
    /// in its memory); nil when it cannot, having done nothing, and the caller uses `post`.
    func postNow(
        _ body: [UInt8], room: RoomID, token: String?, clientAddress: String, idempotencyKey: IdempotencyKey?
    ) -> Result<(receipt: CommentReceipt, authorID: String), DanmakuError>?
    /// Charges one expensive read to `clientAddress`; the refusal when its budget is spent.
    func admitRead(clientAddress: String) -> DanmakuError?
}

extension ViewerServices {
    public func postNow(
        _ body: [UInt8], room: RoomID, token: String?, clientAddress: String, idempotencyKey: IdempotencyKey?
    ) -> Result<(receipt: CommentReceipt, authorID: String), DanmakuError>? { nil }
}
