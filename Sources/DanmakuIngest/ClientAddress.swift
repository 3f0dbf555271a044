// Danmaku — a live-stream bullet-comment service.

import Foundation
import NIOCore
import NIOHTTP1

/// Who a request comes from, as rate limits, connection caps and anonymous ids count it.
///
/// The peer's address, unless the peer is one of the operator's `--trusted-proxies`: then the
/// client address the proxy put in the one header the operator names (`--client-address-header`:
/// `X-Forwarded-For` or `Forwarded`), the nearest one that is not itself a trusted proxy. Only
/// that header is read: a proxy appends to its own header and passes the other through as the
/// client sent it, so reading the other would let a client name itself.
///
/// An IPv4 client seen as an IPv4-mapped IPv6 address (`::ffff:192.0.2.7`, what a socket bound
/// to `::` reports) is that IPv4 address. An IPv6 client is counted by its /64, the block one
/// host is usually given, so that rotating addresses within it buys nothing.
public struct ClientAddress: Sendable {
    /// The header a trusted proxy names the client in.
    public enum Header: String, Sendable, CaseIterable {
        /// `X-Forwarded-For: client, proxy1, proxy2`: what most proxies and load balancers append to.
        case xForwardedFor = "x-forwarded-for"
        /// RFC 7239 `Forwarded: for=client, for=proxy1`.
        case forwarded
    }

    /// The networks whose connections may name the client in a header.
    public let trustedProxies: [Network]
    /// The header those proxies name the client in; the other is ignored.
    public let header: Header

    public init(trustedProxies: [Network] = [], header: Header = .xForwardedFor) {
        self.trustedProxies = trustedProxies
        self.header = header
    }

    /// Parses `CIDR,CIDR,…` (`10.0.0.0/8`, `2001:db8::/32`, or a bare address); nil when one is malformed.
    public init?(trustedProxies list: String, header: Header = .xForwardedFor) {
        var networks: [Network] = []
        for item in list.split(separator: ",") {
            guard let network = Network(String(item).trimmingCharacters(in: .whitespaces)) else { return nil }
            networks.append(network)
        }
        self.init(trustedProxies: networks, header: header)
    }

    /// Whether `peer` is a trusted proxy (its connections are not capped per address: it carries many clients).
    public func isTrustedProxy(_ peer: SocketAddress?) -> Bool {
        guard let ip = peer?.ipAddress, let bytes = Network.bytes(of: ip) else { return false }
        return trustedProxies.contains { $0.contains(bytes) }
    }

    /// The key a connection from `peer` is counted under, before any request is read.
    public func key(peer: SocketAddress?) -> String {
        Self.key(peer?.ipAddress ?? "unknown")
    }

    /// The key a request is counted under: the forwarded client when the peer is a trusted proxy.
    public func key(peer: SocketAddress?, headers: HTTPHeaders) -> String {
        guard isTrustedProxy(peer) else { return key(peer: peer) }
        // Nearest first: the proxy that connected appended the address it saw last.
        for candidate in Self.forwardedChain(headers, header: header).reversed() {
            guard let bytes = Network.bytes(of: candidate) else { break }
            if !trustedProxies.contains(where: { $0.contains(bytes) }) { return Self.key(candidate) }
        }
        return key(peer: peer)
    }

    /// An address as a counting key: IPv4 (an IPv4-mapped IPv6 address included) as a dotted
    /// quad, IPv6 as its /64; anything else as it is.
    public static func key(_ ip: String) -> String {
        guard let bytes = Network.bytes(of: ip) else { return ip }
        if bytes.count == 4 { return bytes.map(String.init).joined(separator: ".") }
        let groups = stride(from: 0, to: 8, by: 2).map { String(UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]), radix: 16) }
        return groups.joined(separator: ":") + "::/64"
    }

    /// Client addresses named by `header` (`X-Forwarded-For`, or RFC 7239 `for=` of
    /// `Forwarded`), farthest first, from every line of that header in order.
    static func forwardedChain(_ headers: HTTPHeaders, header: Header) -> [String] {
        switch header {
        case .xForwardedFor:
            return headers["x-forwarded-for"].flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) }
        case .forwarded:
            return headers["forwarded"].flatMap { $0.split(separator: ",") }.compactMap { element in
                for pair in element.split(separator: ";") {
                    let parts = pair.split(separator: "=", maxSplits: 1)
                    guard parts.count == 2, parts[0].trimmingCharacters(in: .whitespaces).lowercased() == "for" else { continue }
                    return unquoted(parts[1].trimmingCharacters(in: .whitespaces))
                }
                return nil
            }
        }
    }

    /// `"[2001:db8::1]:4711"` → `2001:db8::1`, `192.0.2.1:80` → `192.0.2.1`.
    private static func unquoted(_ value: String) -> String {
        var text = value.trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            text = String(text[text.index(after: text.startIndex)..<close])
        } else if text.filter({ $0 == ":" }).count == 1, let colon = text.firstIndex(of: ":") {
            text = String(text[..<colon])
        }
        return text
    }

    /// An IPv4 or IPv6 network: an address and a prefix length.
    public struct Network: Sendable, Equatable {
        let bytes: [UInt8]
        let prefix: Int

        /// `ADDRESS/PREFIX` or a bare address (a network of one). An IPv4-mapped network
        /// (`::ffff:10.0.0.0/104`) is the IPv4 one (`10.0.0.0/8`), as the addresses in it are.
        public init?(_ text: String) {
            let parts = text.split(separator: "/", maxSplits: 1)
            guard let first = parts.first, let literal = Self.literalBytes(of: String(first)) else { return nil }
            let prefix = parts.count == 2 ? Int(parts[1]) : literal.count * 8
            guard let prefix, (0...literal.count * 8).contains(prefix) else { return nil }
            if let v4 = Self.mappedIPv4(literal), prefix >= 96 {
                (bytes, self.prefix) = (v4, prefix - 96)
            } else {
                (bytes, self.prefix) = (literal, prefix)
            }
        }

        /// Whether the textual address `ip` is in this network.
        public func contains(_ ip: String) -> Bool {
            Self.bytes(of: ip).map(contains) ?? false
        }

        func contains(_ address: [UInt8]) -> Bool {
            guard address.count == bytes.count else { return false }
            var left = prefix
            for (mine, theirs) in zip(bytes, address) where left > 0 {
                let bits = min(8, left)
                let mask = UInt8(truncatingIfNeeded: 0xFF << (8 - bits))
                if mine & mask != theirs & mask { return false }
                left -= bits
            }
            return true
        }

        /// The 4 or 16 bytes of a textual address, an IPv4-mapped IPv6 address as its IPv4 4;
        /// nil when it is not an address.
        static func bytes(of text: String) -> [UInt8]? {
            guard let bytes = literalBytes(of: text) else { return nil }
            return mappedIPv4(bytes) ?? bytes
        }

        /// The 4 or 16 bytes of a textual address, as written.
        private static func literalBytes(of text: String) -> [UInt8]? {
            var v4 = in_addr()
            if inet_pton(AF_INET, text, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
            var v6 = in6_addr()
            if inet_pton(AF_INET6, text, &v6) == 1 { return withUnsafeBytes(of: &v6) { Array($0) } }
            return nil
        }

        /// The IPv4 address inside an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`, RFC 4291 §2.5.5.2).
        private static func mappedIPv4(_ bytes: [UInt8]) -> [UInt8]? {
            guard bytes.count == 16, bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xFF, bytes[11] == 0xFF else { return nil }
            return Array(bytes[12..<16])
        }
    }
}
