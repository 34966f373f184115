import AssayModel

#if canImport(Glibc)
    import Glibc
#endif

/// Interfaces from /sys/class/net, addresses from getifaddrs(3), gateways from /proc/net/route and
/// /proc/net/ipv6_route, DNS servers from /etc/resolv.conf.
public enum NetworkProbe {
    public static func probe(_ source: SystemSource, warnings: WarningLog) -> NetworkInfo {
        let addresses = source.isLive ? interfaceAddresses() : [:]
        let interfaces = source.list("/sys/class/net").filter { $0 != "lo" }.map { name -> NetworkInterface in
            let base = "/sys/class/net/\(name)"
            // speed is -1 or unreadable (EINVAL) for virtual and down links.
            let speed = source.value("\(base)/speed").flatMap { Int($0) }.flatMap { $0 > 0 ? $0 : nil }
            let mac = source.value("\(base)/address").flatMap { $0 == "00:00:00:00:00:00" ? nil : $0 }
            return NetworkInterface(
                name: name, mac: mac, mtu: source.value("\(base)/mtu").flatMap { Int($0) }, speedMbps: speed,
                ipv4: addresses[name]?.v4 ?? [], ipv6: addresses[name]?.v6 ?? []
            )
        }
        var gateways = parseIPv4Routes(source.text("/proc/net/route") ?? "")
        gateways += parseIPv6Routes(source.text("/proc/net/ipv6_route") ?? "")
        if source.text("/proc/net/route") == nil { warnings.add("network", "/proc/net/route is not readable") }
        return NetworkInfo(interfaces: interfaces, defaultGateways: gateways, dnsServers: parseResolvConf(source.text("/etc/resolv.conf") ?? ""))
    }

    /// Default routes (destination 0, mask 0) and their gateway, little-endian hex.
    public static func parseIPv4Routes(_ text: String) -> [String] {
        var gateways: [String] = []
        for line in text.split(separator: "\n").dropFirst() {
            let fields = line.split(whereSeparator: { $0 == "\t" || $0 == " " })
            guard fields.count >= 8, fields[1] == "00000000", fields[7] == "00000000",
                let gateway = UInt32(fields[2], radix: 16), gateway != 0
            else { continue }
            let text = "\(gateway & 0xFF).\((gateway >> 8) & 0xFF).\((gateway >> 16) & 0xFF).\(gateway >> 24)"
            if !gateways.contains(text) { gateways.append(text) }
        }
        return gateways
    }

    public static func parseIPv6Routes(_ text: String) -> [String] {
        var gateways: [String] = []
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count >= 10, fields[0] == String(repeating: "0", count: 32), fields[1] == "00",
                fields[4] != Substring(String(repeating: "0", count: 32)), fields[4].count == 32
            else { continue }
            let bytes = stride(from: 0, to: 32, by: 2).compactMap { offset -> UInt8? in
                let start = fields[4].index(fields[4].startIndex, offsetBy: offset)
                return UInt8(fields[4][start..<fields[4].index(start, offsetBy: 2)], radix: 16)
            }
            let text = IPAddressFormat.ipv6(bytes)
            if !gateways.contains(text) { gateways.append(text) }
        }
        return gateways
    }

    public static func parseResolvConf(_ text: String) -> [String] {
        text.split(separator: "\n").prefix(1000).compactMap { line in
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count >= 2, fields[0] == "nameserver" else { return nil }
            return String(fields[1])
        }
    }

    private static func interfaceAddresses() -> [String: (v4: [String], v6: [String])] {
        var result: [String: (v4: [String], v6: [String])] = [:]
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0, let first = list else { return result }
        defer { freeifaddrs(list) }
        var cursor: UnsafeMutablePointer<ifaddrs>? = first
        while let entry = cursor {
            defer { cursor = entry.pointee.ifa_next }
            guard let address = entry.pointee.ifa_addr, let namePointer = entry.pointee.ifa_name else { continue }
            let name = String(cString: namePointer)
            var entryAddresses = result[name] ?? ([], [])
            switch Int32(address.pointee.sa_family) {
            case AF_INET:
                let bytes = address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { pointer in
                    withUnsafeBytes(of: pointer.pointee.sin_addr) { Array($0) }
                }
                entryAddresses.v4.append(bytes.map(String.init).joined(separator: "."))
            case AF_INET6:
                let bytes = address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { pointer in
                    withUnsafeBytes(of: pointer.pointee.sin6_addr) { Array($0) }
                }
                entryAddresses.v6.append(IPAddressFormat.ipv6(bytes))
            default:
                continue
            }
            result[name] = entryAddresses
        }
        return result
    }
}

/// Text forms of addresses, without inet_ntop's locale and buffer handling.
public enum IPAddressFormat {
    /// RFC 5952: lower-case hex, the longest run of two or more zero groups as "::".
    public static func ipv6(_ bytes: [UInt8]) -> String {
        guard bytes.count == 16 else { return "" }
        if bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xFF, bytes[11] == 0xFF {
            return "::ffff:" + bytes[12..<16].map(String.init).joined(separator: ".")
        }
        let groups = stride(from: 0, to: 16, by: 2).map { Int(bytes[$0]) << 8 | Int(bytes[$0 + 1]) }
        var bestStart = -1
        var bestLength = 0
        var index = 0
        while index < 8 {
            guard groups[index] == 0 else {
                index += 1
                continue
            }
            var end = index
            while end < 8, groups[end] == 0 { end += 1 }
            if end - index > bestLength {
                bestStart = index
                bestLength = end - index
            }
            index = end
        }
        let hex = groups.map { String($0, radix: 16) }
        guard bestLength >= 2 else { return hex.joined(separator: ":") }
        let head = hex[0..<bestStart].joined(separator: ":")
        let tail = hex[(bestStart + bestLength)...].joined(separator: ":")
        return head + "::" + tail
    }

    public static func ipv4(littleEndianHex hex: Substring) -> String? {
        guard hex.count == 8, let value = UInt32(hex, radix: 16) else { return nil }
        return "\(value & 0xFF).\((value >> 8) & 0xFF).\((value >> 16) & 0xFF).\(value >> 24)"
    }

    /// /proc/net/tcp6 writes the address as four little-endian 32-bit words in hex.
    public static func ipv6(procHex hex: Substring) -> String? {
        guard hex.count == 32 else { return nil }
        var bytes: [UInt8] = []
        var index = hex.startIndex
        for _ in 0..<4 {
            let end = hex.index(index, offsetBy: 8)
            guard let word = UInt32(hex[index..<end], radix: 16) else { return nil }
            bytes += [UInt8(word & 0xFF), UInt8((word >> 8) & 0xFF), UInt8((word >> 16) & 0xFF), UInt8(word >> 24)]
            index = end
        }
        return ipv6(bytes)
    }
}
