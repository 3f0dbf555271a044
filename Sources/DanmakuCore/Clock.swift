// Danmaku — a live-stream bullet-comment service.

import Foundation

/// Wall-clock milliseconds since the Unix epoch, the unit of `Comment.ts` (saturating: a clock
/// set absurdly far cannot trap the conversion).
public func currentTimeMillis() -> Int64 {
    Int64(saturating: Date().timeIntervalSince1970 * 1000)
}
