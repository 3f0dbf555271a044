// Danmaku — a live-stream bullet-comment service.

/// Parses `127.0.0.1-127.0.0.16` (a range in the last octet) or a comma-separated list.
///
/// One source address gives about 28k ephemeral ports towards one server port; spreading
/// connections over several loopback addresses lifts that limit.
public func parseSourceAddresses(_ text: String) -> [String]? {
    var result: [String] = []
    for part in text.split(separator: ",") {
        let bounds = part.split(separator: "-")
        if bounds.count == 1 {
            result.append(String(bounds[0]))
            continue
        }
        guard bounds.count == 2 else { return nil }
        let low = bounds[0].split(separator: "."), high = bounds[1].split(separator: ".")
        guard low.count == 4, high.count == 4, low[0..<3] == high[0..<3],
            let first = Int(low[3]), let last = Int(high[3]), first <= last, last <= 255
        else { return nil }
        let prefix = low[0..<3].joined(separator: ".")
        result += (first...last).map { "\(prefix).\($0)" }
    }
    return result.isEmpty ? nil : result
}
