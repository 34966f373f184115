import Foundation

/// Who the client is when a reverse proxy stands in front. X-Forwarded-For is believed only when
/// the peer is a trusted proxy, and then read from the right: each trusted proxy appends the address
/// it saw, so the rightmost address that is not itself a trusted proxy is the client. Anything to
/// its left was written by the client and may be forged.
enum TrustedProxies {
    static func clientAddress(peer: String, forwardedFor: [String], trusted: [String]) -> String {
        guard isTrusted(peer, trusted) else { return peer }
        let hops = forwardedFor.flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) }
        for hop in hops.reversed() {
            guard isIPAddress(hop) else { return peer }  // garbage in the chain: trust only what we saw
            if !isTrusted(hop, trusted) { return hop }
        }
        return hops.first ?? peer
    }

    /// An entry is an address ("10.0.0.5", "::1") or an IPv4 range in CIDR form ("10.0.0.0/8").
    static func isTrusted(_ address: String, _ trusted: [String]) -> Bool {
        trusted.contains { entry in
            guard let slash = entry.firstIndex(of: "/") else { return entry == address }
            guard let network = ipv4(String(entry[..<slash])), let bits = Int(entry[entry.index(after: slash)...]), (0...32).contains(bits),
                let candidate = ipv4(address)
            else { return false }
            let mask: UInt32 = bits == 0 ? 0 : ~UInt32(0) << (32 - bits)
            return candidate & mask == network & mask
        }
    }

    static func ipv4(_ text: String) -> UInt32? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var value: UInt32 = 0
        for part in parts {
            guard part.count <= 3, let octet = UInt32(part), octet <= 255 else { return nil }
            value = value << 8 | octet
        }
        return value
    }

    static func isIPAddress(_ text: String) -> Bool { IPAddress(text) != nil }
}
