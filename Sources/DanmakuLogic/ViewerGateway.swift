// Danmaku — a live-stream bullet-comment service.

import DanmakuCore

/// The logic tier as viewers' sockets use it (`ViewerServices`): who a token names, posting a
/// comment, and the read budget a join or a resume is charged to.
public struct ViewerGateway: ViewerServices {
    let authenticator: any PostAuthenticator
    let posts: CommentPosting
    /// Posting on the caller's thread, when the node can (`ImmediatePosting`).
    let immediatePosts: ImmediatePosting?
    let reads: ReadBudget

    /// The author a viewer's token names, when it is valid for `room` and proves someone (not in
    /// open mode, where tokens are ignored).
    public func author(token: String, room: RoomID) async -> CommentAuthor? {
        guard !(authenticator is OpenPosting), case .success(let author) = await authenticator.author(token: token, room: room, clientAddress: "")
        else { return nil }
        return author
    }

    public func post(
        _ body: [UInt8], room: RoomID, token: String?, clientAddress: String, idempotencyKey: IdempotencyKey?
    ) async -> Result<(receipt: CommentReceipt, authorID: String), DanmakuError> {
        let request: CommentRequest
        switch CommentRequest.decode(from: body) {
        case .success(let decoded): request = decoded
        case .failure(let error): return .failure(error)
        }
        return await posts.post(room: room, request: request, token: token, clientAddress: clientAddress, idempotencyKey: idempotencyKey, started: .now)
            .map { (receipt: $0.receipt, authorID: $0.author.id) }
    }

    public func postNow(
        _ body: [UInt8], room: RoomID, token: String?, clientAddress: String, idempotencyKey: IdempotencyKey?
    ) -> Result<(receipt: CommentReceipt, authorID: String), DanmakuError>? {
        immediatePosts?.postNamingAuthor(room: room, body: body, token: token, clientAddress: clientAddress, idempotencyKey: idempotencyKey)
            .map { outcome in outcome.map { (receipt: $0.receipt, authorID: $0.author.id) } }
    }

    public func admitRead(clientAddress: String) -> DanmakuError? {
        reads.admit(clientAddress: clientAddress)
    }
}
