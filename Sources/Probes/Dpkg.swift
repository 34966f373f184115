import AssayModel

/// /var/lib/dpkg/status, read directly (deb-control(5) paragraphs). Only packages whose Status is
/// "install ok installed" count, as dpkg-query -W shows them.
public enum DpkgStatusParser {
    public static func parse(_ text: String, vendor: String?, installTime: (String, String?) -> Int64? = { _, _ in nil },
                             warnings: WarningLog) -> [SoftwarePackage] {
        var packages: [SoftwarePackage] = []
        var fields: [String: String] = [:]
        var malformedLines = 0

        func flush() {
            defer { fields = [:] }
            guard let name = fields["Package"], !name.isEmpty else { return }
            guard let status = fields["Status"], status.split(separator: " ").last == "installed" else { return }
            guard let version = fields["Version"], !version.isEmpty else {
                warnings.add("dpkg", "package \(name) has no version")
                return
            }
            let architecture = fields["Architecture"]
            let size = fields["Installed-Size"].flatMap { Int64($0.trimmed) }.map { $0 * 1024 }
            packages.append(SoftwarePackage(
                name: name, version: version, architecture: architecture, source: .dpkg,
                vendor: fields["Origin"] ?? vendor, installedSizeBytes: size,
                installedAt: installTime(name, architecture)
            ))
        }

        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.trimmed.isEmpty {
                flush()
                continue
            }
            if line.first == " " || line.first == "\t" {
                // Continuation of a multi-line field (Description, Conffiles): not collected.
                continue
            }
            guard let colon = line.firstIndex(of: ":") else {
                malformedLines += 1
                continue
            }
            let key = String(line[..<colon])
            guard ["Package", "Status", "Version", "Architecture", "Installed-Size", "Origin"].contains(key) else { continue }
            // A second Package field without a blank line before it starts a new entry.
            if key == "Package", fields["Package"] != nil { flush() }
            fields[key] = String(line[line.index(after: colon)...]).trimmed
        }
        flush()
        if malformedLines > 0 { warnings.add("dpkg", "\(malformedLines) malformed lines in the status file were skipped") }
        return packages
    }

    public static func probe(_ source: SystemSource, vendor: String?, warnings: WarningLog) -> [SoftwarePackage]? {
        guard source.exists("/var/lib/dpkg/status") else { return nil }
        guard let bytes = source.read("/var/lib/dpkg/status", limit: 256 << 20) else {
            warnings.add("dpkg", "/var/lib/dpkg/status is not readable")
            return nil
        }
        let text = String(decoding: bytes, as: UTF8.self)
        return parse(text, vendor: vendor, installTime: { name, architecture in
            // dpkg keeps one .list file per package; its time is when the package was last unpacked.
            if let architecture, let time = source.modificationTime("/var/lib/dpkg/info/\(name):\(architecture).list") { return time }
            return source.modificationTime("/var/lib/dpkg/info/\(name).list")
        }, warnings: warnings)
    }
}

/// `rpm -qa` with a tab-separated query format (rpm(8)).
public enum RpmParser {
    public static let queryFormat = "%{NAME}\\t%{VERSION}-%{RELEASE}\\t%{ARCH}\\t%{VENDOR}\\t%{SIZE}\\t%{INSTALLTIME}\\n"

    public static func parse(_ text: String, warnings: WarningLog) -> [SoftwarePackage] {
        var packages: [SoftwarePackage] = []
        var malformed = 0
        for line in text.split(separator: "\n") {
            let columns = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard columns.count == 6, !columns[0].isEmpty, !columns[1].isEmpty else {
                malformed += 1
                continue
            }
            func present(_ value: String) -> String? { value.isEmpty || value == "(none)" ? nil : value }
            packages.append(SoftwarePackage(
                name: columns[0], version: columns[1], architecture: present(columns[2]), source: .rpm,
                vendor: present(columns[3]), installedSizeBytes: Int64(columns[4]), installedAt: Int64(columns[5])
            ))
        }
        if malformed > 0 { warnings.add("rpm", "\(malformed) lines of rpm output were not understood") }
        return packages
    }

    public static func probe(_ source: SystemSource, warnings: WarningLog) -> [SoftwarePackage]? {
        guard let rpm = ["/usr/bin/rpm", "/bin/rpm"].first(where: { source.exists($0) }), source.exists("/var/lib/rpm") || source.exists("/usr/lib/sysimage/rpm") else {
            return nil
        }
        guard let output = source.run([rpm, "-qa", "--qf", queryFormat]) else {
            warnings.add("rpm", "rpm -qa failed")
            return nil
        }
        return parse(output, warnings: warnings)
    }
}

/// Alpine's /lib/apk/db/installed: "X:value" lines, packages separated by blank lines.
public enum ApkParser {
    public static func parse(_ text: String, warnings: WarningLog) -> [SoftwarePackage] {
        var packages: [SoftwarePackage] = []
        var fields: [Character: String] = [:]
        func flush() {
            defer { fields = [:] }
            guard let name = fields["P"], let version = fields["V"] else {
                if !fields.isEmpty { warnings.add("apk", "an entry without P: or V: was skipped") }
                return
            }
            packages.append(SoftwarePackage(
                name: name, version: version, architecture: fields["A"], source: .apk,
                vendor: fields["o"].map { "origin:\($0)" }, installedSizeBytes: fields["I"].flatMap { Int64($0) },
                installedAt: nil
            ))
        }
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.isEmpty { flush(); continue }
            guard line.count >= 2, line[line.index(after: line.startIndex)] == ":" else { continue }
            let key = line[line.startIndex]
            if "PVAIo".contains(key) { fields[key] = String(line.dropFirst(2)) }
        }
        flush()
        return packages
    }

    public static func probe(_ source: SystemSource, warnings: WarningLog) -> [SoftwarePackage]? {
        guard let text = source.text("/lib/apk/db/installed", limit: 256 << 20) else { return nil }
        return parse(text, warnings: warnings)
    }
}

