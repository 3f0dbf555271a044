// Danmaku — a live-stream bullet-comment service.

/// Why a viewer reports a comment to the room's staff (the server's fixed list).
public enum DanmakuReportReason: String, Sendable, CaseIterable {
    case spam, abuse, spoiler
    case offTopic = "off_topic"
    case other
}

/// A filed report's answer: how many distinct viewers reported the comment so far, and whether
/// that hid it pending the staff's review (the room's `reportsToHide`).
public struct DanmakuReportFiled: Sendable, Decodable, Equatable {
    public var id: String
    public var seq: UInt64
    public var reporters: Int
    public var hidden: Bool
}

extension DanmakuReportReason {
    /// The body of a report: the reason, optional words (the server takes at most 500 bytes), and
    /// a live comment's seq (which lets the server find it without searching history).
    func body(text: String?, seq: UInt64? = nil) -> [String: Any] {
        var body: [String: Any] = ["reason": rawValue]
        if let text { body["text"] = text }
        if let seq { body["seq"] = seq }
        return body
    }
}
