// Danmaku — a live-stream bullet-comment service.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore

extension ByteBufferView {
    /// Where `pattern` first occurs in this view, as indices of the view (so of its slices too).
    ///
    /// Comments are searched in their JSON for every batch (wire format 2's compaction, display
    /// budgets, recalls): the generic `firstRange(of:)` walks a `ByteBufferView` index by index
    /// (about 40 µs for one comment), this scans the raw bytes with `memchr` and `memcmp`.
    public func firstRange(ofBytes pattern: [UInt8]) -> Range<Index>? {
        let offset = withUnsafeBytes { bytes -> Int? in
            guard let base = bytes.baseAddress, !pattern.isEmpty, pattern.count <= bytes.count else { return nil }
            return pattern.withUnsafeBytes { needle -> Int? in
                let last = bytes.count - needle.count
                var start = 0
                while start <= last, let hit = memchr(base + start, Int32(needle[0]), last - start + 1) {
                    let at = base.distance(to: UnsafeRawPointer(hit))
                    if memcmp(base + at, needle.baseAddress!, needle.count) == 0 { return at }
                    start = at + 1
                }
                return nil
            }
        }
        return offset.map { (startIndex + $0)..<(startIndex + $0 + pattern.count) }
    }
}
