import AssayModel

/// systemd service units when systemd runs (systemctl list-units), else daemons found in /proc
/// (children of PID 1). Unit descriptions are not collected.
public enum ServiceProbe {
    public static func parseSystemctl(_ text: String) -> [Service] {
        text.split(separator: "\n").prefix(20_000).compactMap { line in
            // UNIT LOAD ACTIVE SUB DESCRIPTION…; a leading "●" marks failed units.
            let fields = line.split(separator: " ").filter { $0 != "●" && $0 != "*" }
            guard fields.count >= 4, fields[0].hasSuffix(".service") else { return nil }
            return Service(name: String(fields[0].dropLast(8)), state: "\(fields[2])/\(fields[3])", manager: "systemd")
        }
    }

    public static func probe(_ source: SystemSource, processes: ProcessTable, warnings: WarningLog) -> [Service] {
        if source.exists("/run/systemd/system") {
            let systemctl = ["/usr/bin/systemctl", "/bin/systemctl"].first(where: { source.exists($0) }) ?? "/usr/bin/systemctl"
            if let output = source.run([systemctl, "list-units", "--type=service", "--all", "--no-legend", "--no-pager", "--plain"]) {
                return parseSystemctl(output)
            }
            warnings.add("services", "systemctl list-units failed; listing daemons from /proc instead")
        }
        let kernelThreads = processes.processes.values.filter { $0.parent == 2 || $0.pid == 2 }.map(\.pid)
        let daemons = Set(processes.processes.values.filter { $0.parent == 1 && !kernelThreads.contains($0.pid) }.map(\.name))
        return daemons.sorted().map { Service(name: $0, state: "running", manager: "process") }
    }
}

/// Database engines and web servers, from package names and process names; versions from the
/// package, which costs nothing to read.
public enum ProductDetector {
    struct Rule {
        let product: String
        /// Exact package names, or names with a trailing "*" for "this prefix then digits/dots".
        let packages: [String]
        let processNames: [String]
        let processPrefixes: [String]
        let ports: [Int]
    }

    static let databaseRules: [Rule] = [
        Rule(
            product: "PostgreSQL", packages: ["postgresql-*", "postgresql*-server", "postgresql-server"], processNames: ["postgres", "postmaster"],
            processPrefixes: [], ports: [5432]),
        Rule(
            product: "MySQL", packages: ["mysql-server", "mysql-server-*", "mysql-community-server"], processNames: ["mysqld"], processPrefixes: [],
            ports: [3306]),
        Rule(product: "MariaDB", packages: ["mariadb-server", "mariadb-server-*"], processNames: ["mariadbd"], processPrefixes: [], ports: [3306]),
        Rule(product: "SQL Server", packages: ["mssql-server"], processNames: ["sqlservr"], processPrefixes: [], ports: [1433]),
        Rule(product: "Oracle Database", packages: ["oracle-database"], processNames: ["tnslsnr"], processPrefixes: ["ora_pmon_"], ports: [1521]),
        Rule(product: "MongoDB", packages: ["mongodb-org-server", "mongodb-server"], processNames: ["mongod"], processPrefixes: [], ports: [27017]),
        Rule(product: "Redis", packages: ["redis-server", "redis"], processNames: ["redis-server"], processPrefixes: [], ports: [6379]),
    ]

    static let webServerRules: [Rule] = [
        Rule(
            product: "nginx", packages: ["nginx", "nginx-core", "nginx-full", "nginx-light", "nginx-extras"], processNames: ["nginx"], processPrefixes: [],
            ports: [80, 443]),
        Rule(
            product: "Apache HTTP Server", packages: ["apache2-bin", "apache2", "httpd"], processNames: ["apache2", "httpd"], processPrefixes: [],
            ports: [80, 443]),
        Rule(product: "Caddy", packages: ["caddy"], processNames: ["caddy"], processPrefixes: [], ports: [80, 443]),
    ]

    /// Well-known database ports, to mark "SQL connections" whose far end we cannot see.
    public static let databasePorts: Set<Int> = [5432, 3306, 1433, 1521, 27017, 6379]
    public static let databaseProcessNames: Set<String> = Set(databaseRules.flatMap(\.processNames))

    public static func isDatabaseProcess(_ name: String?) -> Bool {
        guard let name else { return false }
        return databaseProcessNames.contains(name) || name.hasPrefix("ora_")
    }

    /// "postgresql-*" matches postgresql-15 and postgresql-9.6; "postgresql*-server" matches postgresql16-server.
    /// Compared as UTF-8 bytes: package names are ASCII, and this runs for every package and
    /// pattern (String's Unicode-aware hasPrefix made it a third of an inventory's time).
    static func matches(_ name: String, pattern: String) -> Bool {
        let name = name.utf8
        let pattern = pattern.utf8
        guard let star = pattern.firstIndex(of: UInt8(ascii: "*")) else { return name.elementsEqual(pattern) }
        let prefix = pattern[..<star]
        let suffix = pattern[pattern.index(after: star)...]
        guard name.count > prefix.count + suffix.count, name.starts(with: prefix), name.reversed().starts(with: suffix.reversed()) else {
            return false
        }
        return name.dropFirst(prefix.count).dropLast(suffix.count).allSatisfy {
            ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) || $0 == UInt8(ascii: ".")
        }
    }

    public static func detect(databases: Bool, software: [SoftwarePackage], processes: ProcessTable, listening: [ListeningPort]) -> [DetectedProduct] {
        let processNames = Set(processes.processes.values.map(\.name))
        return (databases ? databaseRules : webServerRules).compactMap { rule in
            var evidence: [String] = []
            var version: String?
            for package in software where rule.packages.contains(where: { matches(package.name, pattern: $0) }) {
                evidence.append("package:\(package.name)")
                version = version ?? package.version
            }
            let names = Set(
                processNames.filter { name in
                    rule.processNames.contains(name) || rule.processPrefixes.contains(where: { name.hasPrefix($0) })
                })
            evidence += names.sorted().map { "process:\($0)" }
            guard !evidence.isEmpty else { return nil }
            let ports = Set(listening.filter { port in port.process.map { names.contains($0) } ?? false }.map(\.port))
            return DetectedProduct(product: rule.product, version: version, evidence: evidence, ports: ports.sorted())
        }
    }
}
