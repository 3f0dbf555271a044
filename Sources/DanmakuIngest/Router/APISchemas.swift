// Danmaku — a live-stream bullet-comment service.

import DanmakuBus
import DanmakuCore
import DanmakuLogic
/// The named schemas of the API document (`components.schemas`): each body a client sends and each answer it gets, as the handlers decode and encode them.
///
/// Two rules shape every schema here, because a fuzzer (Schemathesis) checks the server against them:
/// - A request schema must accept every body the server accepts. Where the server checks something
///   JSON Schema cannot say (grapheme counts after trimming, UTF-8 byte counts, the 4 KiB body limit
///   of `--max-body-bytes`), the schema says less, never more. Every request decoder ignores unknown
///   keys, so no request schema is closed; and Swift's decoders take an explicit `null` for an
///   optional field as "absent", so optional request fields are nullable.
/// - An answer schema must hold for every answer. The encoders are synthesized (`encodeIfPresent`):
///   a nil field is left out, never written as `null`, so optional answer fields are simply not
///   required. Answers are not closed: clients must ignore keys they do not know
///   (docs/PROTOCOL.md), which is how fields are added.
///
/// Bounds come from the constants the handlers check against, so the two cannot drift apart.
///
/// Each area keeps its own schemas (`CommentSchemas`, `RoomSchemas`, `ModerationSchemas`,
/// `VideoSchemas`, `OperatorSchemas`) and the fields they share are in `FieldSchemas`; only the
/// error body, which every endpoint may answer, is here.
enum APISchemas {
    /// Every named schema of the document.
    static let all: [(name: String, schema: JSONSchema)] =
        [("Error", errorBody)] + OperatorSchemas.named + CommentSchemas.named + RoomSchemas.named + ModerationSchemas.named
        + VideoSchemas.named

    /// `{"error": {"code", "message", "requestId"}}`. `requestId` (the request's `X-Request-Id`,
    /// given or made) is in every error answering a request; only the `429 too_many_connections`
    /// and `503 node_full` written as a connection over the per-address or the node's cap opens,
    /// before any request is read (`ConnectionRefusal`), have none.
    private static let errorBody: JSONSchema = .object(
        [
            (
                "error",
                .object(
                    [
                        ("code", .string(minLength: 1)),
                        ("message", .string()),
                        ("requestId", .string(minLength: 1, maxLength: RequestHeaders.maxRequestIDBytes, pattern: "^[!-~]+$")),
                    ], required: ["code", "message"])
            )
        ], required: ["error"])
}
