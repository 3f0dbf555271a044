// Danmaku — a live-stream bullet-comment service.

import Foundation

/// Wall-clock milliseconds since the Unix epoch, the unit of `Comment.ts`.
public func currentTimeMillis() -> Int64 {
    Int64((Date().timeIntervalSince1970 * 1000).rounded(.down))
}
