// Danmaku — a live-stream bullet-comment service.

import DanmakuCore
import Foundation

/// A request URI split into path and decoded query parameters.
public struct RequestTarget: Sendable {
    /// The path, without the query.
    public var path: Substring
    /// Query parameters; see `repeated` for names given more than once.
    public var query: [String: String]
    /// Names that appear more than once: a numeric parameter given twice is refused, since the
    /// client and a proxy in front may each read a different one.
    public var repeated: Set<String>

    public init(uri: String) {
        let split = uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        path = split[0]
        query = [:]
        repeated = []
        guard split.count == 2 else { return }
        for pair in split[1].split(separator: "&") {
            let keyValue = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = String(keyValue[0]).removingPercentEncoding ?? String(keyValue[0])
            let value = keyValue.count == 2 ? (String(keyValue[1]).removingPercentEncoding ?? String(keyValue[1])) : ""
            if query.updateValue(value, forKey: key) != nil { repeated.insert(key) }
        }
    }

    /// A numeric parameter in `range` (through `ClientNumber`); nil when absent, `.failure` when
    /// present but empty, malformed, out of range or repeated.
    public func number(_ name: String, in range: ClosedRange<UInt64>) -> Result<UInt64?, DanmakuError> {
        guard let raw = query[name] else { return .success(nil) }
        guard !repeated.contains(name) else { return .failure(ClientNumber.repeated(name)) }
        return ClientNumber.parse(raw, name: name, in: range).map { $0 }
    }

    /// A numeric parameter in `range` as an `Int`, `fallback` when absent.
    public func integer(_ name: String, in range: ClosedRange<Int>, default fallback: Int) -> Result<Int, DanmakuError> {
        number(name, in: UInt64(range.lowerBound)...UInt64(range.upperBound)).map { $0.map { Int($0) } ?? fallback }
    }

    /// The resume point `since` (any seq), nil when absent.
    public var since: Result<UInt64?, DanmakuError> { number("since", in: ClientNumber.seqRange) }

    /// The wire format a viewer asks for (`?v=`), version 1 when absent.
    public var wireFormat: Result<WireFormat, DanmakuError> {
        number("v", in: WireFormat.versions).map { $0.flatMap { WireFormat(rawValue: Int($0)) } ?? .full }
    }

    /// `GET /v1/admin/stats?since=`: the dashboard's figures recorded after this time (milliseconds
    /// since 1970; 0 for all that are kept), nil when absent.
    public var historySince: Result<Int64?, DanmakuError> {
        number("since", in: 0...UInt64(Int64.max)).map { $0.map { Int64(clamping: $0) } }
    }

    /// The epoch `since` belongs to, nil when absent.
    public var epoch: Result<Int64?, DanmakuError> { number("epoch", in: ClientNumber.epochRange).map { $0.map { Int64($0) } } }
}
