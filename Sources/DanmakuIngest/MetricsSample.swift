// Danmaku — a live-stream bullet-comment service.

/// One scrape of a node's `GET /metrics` (the Prometheus text exposition): every sample line's
/// value by its series, by name (label sets summed), and histogram buckets by bound. Read by
/// `danmaku status` and the dashboard's `/v1/admin/stats`.
public struct MetricsSample: Sendable {
    /// Series (`name{labels}`) → value, for every sample line but histogram buckets.
    public private(set) var series: [String: Double] = [:]
    /// name → the sum of its samples over all label sets.
    public private(set) var totals: [String: Double] = [:]
    /// Buckets of the histogram named: upper bound → cumulative count (over all other labels).
    public private(set) var buckets: [String: [Double: Double]] = [:]

    public init(text: String) {
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            let series = line[..<space]
            let name = String(series.prefix { $0 != "{" })
            totals[name, default: 0] += value
            if name.hasSuffix("_bucket") {
                guard let bound = Self.label("le", in: series) else { continue }
                let upper = bound == "+Inf" ? Double.infinity : Double(bound) ?? .nan
                buckets[String(name.dropLast("_bucket".count)), default: [:]][upper, default: 0] += value
            } else {
                self.series[String(series)] = value
            }
        }
    }

    public subscript(name: String) -> Double? { totals[name] }

    /// The value of label `name` in a series `metric{a="x",b="y"}`.
    private static func label(_ name: String, in series: Substring) -> String? {
        guard let range = series.range(of: "\(name)=\"") else { return nil }
        return String(series[range.upperBound...].prefix { $0 != "\"" })
    }

    /// The `quantile` of histogram `name` over what happened between `earlier` and this sample
    /// (the upper bound of the bucket it falls in); nil without observations.
    public func quantile(_ quantile: Double, of name: String, since earlier: MetricsSample) -> Double? {
        guard let now = buckets[name] else { return nil }
        let before = earlier.buckets[name] ?? [:]
        let deltas = now.map { (bound: $0.key, count: $0.value - (before[$0.key] ?? 0)) }.sorted { $0.bound < $1.bound }
        guard let total = deltas.last?.count, total > 0 else { return nil }
        return deltas.first { $0.count >= quantile * total }?.bound
    }
}
