import LDAP

/// Devices found among an Active Directory's computer objects (CON-1): `dNSHostName` names the
/// host and `operatingSystem` decides whether the console can reach it (Linux and Unix over SSH;
/// Windows is another transport, docs/windows.md). Attribute values are data: each host name is
/// validated like a CSV row's, and an entry that does not pass is reported, never contacted.
public enum ActiveDirectory {
    public static let attributes = ["cn", "dNSHostName", "operatingSystem", "operatingSystemVersion"]
    /// What `--filter` narrows: computer objects only.
    public static let baseFilter = "(objectClass=computer)"

    public struct Skipped: Sendable, Equatable {
        public let dn: String
        public let reason: String

        /// Both come from the directory: kept and shown without its control characters.
        init(dn: String, reason: String) {
            self.dn = TerminalText.clean(dn)
            self.reason = TerminalText.clean(reason)
        }
    }

    public struct Found: Sendable, Equatable {
        public var devices: [Device]
        public var skipped: [Skipped]
    }

    /// `(&(objectClass=computer)FILTER)`, the user's filter checked as RFC 4515 syntax.
    public static func filter(narrowedBy extra: String?) throws(LDAPError) -> SearchFilter {
        let base = try SearchFilter(parsing: baseFilter)
        guard let extra, !extra.isEmpty else { return base }
        return .and([base, try SearchFilter(parsing: extra)])
    }

    /// Operating systems the console scans over SSH, matched on AD's free-text `operatingSystem`.
    static let unixLike = [
        "linux", "ubuntu", "debian", "red hat", "rhel", "centos", "rocky", "alma", "suse", "fedora", "oracle linux", "amazon linux", "unix", "freebsd",
        "openbsd", "netbsd", "solaris", "aix", "hp-ux",
    ]

    public static func isUnixLike(_ operatingSystem: String) -> Bool {
        let lowered = operatingSystem.lowercased()
        return unixLike.contains { lowered.contains($0) }
    }

    /// Turns entries into devices, one per host name; `labels` are added to each (with `ad`).
    public static func devices(from entries: [LDAPEntry], port: Int = 22, user: String? = nil, labels: [String] = []) -> Found {
        var found = Found(devices: [], skipped: [])
        var seen = Set<String>()
        for entry in entries {
            let dn = String(entry.dn.prefix(200))
            guard let host = entry.first("dNSHostName")?.lowercased(), !host.isEmpty else {
                found.skipped.append(Skipped(dn: dn, reason: "no dNSHostName"))
                continue
            }
            guard Device.isHost(host) else {
                found.skipped.append(Skipped(dn: dn, reason: Device.FieldProblem.host(host).description))
                continue
            }
            let system = entry.first("operatingSystem") ?? ""
            guard isUnixLike(system) else {
                found.skipped.append(
                    Skipped(dn: dn, reason: system.isEmpty ? "no operatingSystem" : "operatingSystem \"\(system.prefix(60))\" is not Linux or Unix"))
                continue
            }
            guard seen.insert(host).inserted else {
                found.skipped.append(Skipped(dn: dn, reason: "\(host) is listed by another entry"))
                continue
            }
            found.devices.append(Device(host: host, port: port, user: user, labels: ["ad"] + labels.filter { $0 != "ad" }))
        }
        return found
    }

    /// Binds, searches page by page, and maps the entries.
    public static func discover(
        server: LDAPServer, tls: LDAPTLS, bindDN: String, password: String, baseDN: String, filter: String?, pageSize: Int = 500, port: Int = 22,
        user: String? = nil, labels: [String] = []
    ) async throws(LDAPError) -> Found {
        let searchFilter = try self.filter(narrowedBy: filter)
        let client = try await LDAPClient.connect(to: server, tls: tls)
        do {
            try await client.bind(dn: bindDN, password: password)
            let entries = try await client.search(base: baseDN, filter: searchFilter, attributes: attributes, pageSize: pageSize)
            await client.close()
            return devices(from: entries, port: port, user: user, labels: labels)
        } catch {
            await client.close()
            throw error
        }
    }
}
