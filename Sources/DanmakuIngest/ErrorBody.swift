// Danmaku — a live-stream bullet-comment service.

import DanmakuCore
import NIOCore

extension DanmakuError {
    private struct Body: Encodable {
        struct Detail: Encodable {
            var code: String
            var message: String
        }
        var error: Detail
    }

    /// `{"error": {"code": "...", "message": "..."}}`, the body of every HTTP error answer.
    var httpBody: ByteBuffer {
        // This shape always encodes; an empty object is a safe fallback that never traps.
        (try? WireCodec.encode(Body(error: .init(code: code, message: message)))) ?? ByteBuffer(string: "{}")
    }
}
