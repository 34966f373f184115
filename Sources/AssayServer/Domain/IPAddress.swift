import Foundation

/// An IPv4 or IPv6 address read strictly (inet_pton), for the decisions that depend on one: is it
/// this machine, and which network is it a client of.
struct IPAddress: Sendable, Equatable {
    /// 4 bytes for IPv4, 16 for IPv6; an IPv4-mapped IPv6 address (::ffff:a.b.c.d) is kept as IPv4.
    let bytes: [UInt8]

    init?(_ text: String) {
        let bare = text.hasPrefix("[") && text.hasSuffix("]") ? String(text.dropFirst().dropLast()) : text
        guard bare.utf8.count <= 45, !bare.contains("%") else { return nil }
        var v4 = in_addr()
        if inet_pton(AF_INET, bare, &v4) == 1 {
            bytes = withUnsafeBytes(of: &v4) { Array($0) }
            return
        }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, bare, &v6) == 1 else { return nil }
        let all = withUnsafeBytes(of: &v6) { Array($0) }
        bytes = all.prefix(10).allSatisfy { $0 == 0 } && all[10] == 0xFF && all[11] == 0xFF ? Array(all.suffix(4)) : all
    }

    var isIPv6: Bool { bytes.count == 16 }

    /// 127.0.0.0/8 or ::1.
    var isLoopback: Bool { isIPv6 ? bytes == Array(repeating: 0, count: 15) + [1] : bytes[0] == 127 }

    /// What a per-address limit counts: the address itself for IPv4, its /64 for IPv6 — one
    /// subscriber's whole prefix, since a client can pick any of its 2^64 addresses per request.
    var throttleSubject: String {
        guard isIPv6 else { return bytes.map(String.init).joined(separator: ".") }
        let groups = stride(from: 0, to: 8, by: 2).map { String(UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]), radix: 16) }
        return groups.joined(separator: ":") + "::/64"
    }

    /// The subject for a client address as the web tier reports it (which may be "unknown").
    static func throttleSubject(of client: String) -> String { IPAddress(client)?.throttleSubject ?? client }
}
