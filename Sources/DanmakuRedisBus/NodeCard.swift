// Danmaku — a live-stream bullet-comment service.

import Foundation

/// How a node introduces itself to the others in Redis (beside its viewer counts): its name,
/// roles, and the URL `danmaku status --bus` reads its `/metrics` from, or why it has none.
public struct NodeCard: Codable, Equatable, Sendable {
    /// `--node-name`.
    public var name: String
    /// `ingest,logic`, `push` or `all`.
    public var roles: String
    /// The node's HTTP base URL as other hosts reach it (`http://10.0.0.5:7000`), nil when unknown.
    public var url: String?
    /// Why there is no URL (it listens on every address and was given no `--advertise-url`).
    public var unreachable: String?

    public init(name: String, roles: String, url: String?, unreachable: String?) {
        self.name = name
        self.roles = roles
        self.url = url
        self.unreachable = unreachable
    }

    /// Whether `text` is a base URL a node can be read at: http or https, a host, at most 512
    /// bytes, and nothing past the path (no user, query or fragment). What `--advertise-url`
    /// accepts, and what `danmaku status` reads from a card.
    public static func isBaseURL(_ text: String) -> Bool {
        guard text.utf8.count <= 512, let url = URL(string: text) else { return false }
        return ["http", "https"].contains(url.scheme ?? "") && url.host != nil && url.query == nil && url.fragment == nil && url.user == nil
    }

    /// The card of a node listening on `host`:`port`: a specific address is the URL; a wildcard
    /// one (`0.0.0.0`, `::`) names no address others could use, so without `advertised` the node
    /// says so instead.
    public static func listening(name: String, roles: String, host: String, port: Int, advertised: String?) -> NodeCard {
        if let advertised {
            return NodeCard(name: name, roles: roles, url: advertised, unreachable: nil)
        }
        if ["0.0.0.0", "::", "[::]", ""].contains(host) {
            return NodeCard(
                name: name, roles: roles, url: nil,
                unreachable: "listens on every address (\(host.isEmpty ? "*" : host)); give it --advertise-url")
        }
        let shown = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
        return NodeCard(name: name, roles: roles, url: "http://\(shown):\(port)", unreachable: nil)
    }
}
