import AssayModel

#if canImport(Glibc)
    import Glibc
#endif

/// /var/lib/dpkg/status, read directly (deb-control(5) paragraphs). Only packages whose Status is
/// "install ok installed" count, as dpkg-query -W shows them.
public enum DpkgStatusParser {
    public static func parse(
        _ text: String, vendor: String?, installTime: (String, String?) -> Int64? = { _, _ in nil },
        warnings: WarningLog
    ) -> [SoftwarePackage] {
        parse(bytes: Array(text.utf8), vendor: vendor, installTime: installTime, warnings: warnings)
    }

    /// Works on bytes, not Characters: the status file is large (hundreds of KB) and ASCII in
    /// its field names, and byte scanning is an order of magnitude faster than String splitting.
    public static func parse(
        bytes: [UInt8], vendor: String?, installTime: (String, String?) -> Int64? = { _, _ in nil },
        warnings: WarningLog
    ) -> [SoftwarePackage] {
        enum Field: Int, CaseIterable { case package, status, version, architecture, installedSize, origin }
        let names: [[UInt8]] = ["Package", "Status", "Version", "Architecture", "Installed-Size", "Origin"].map { Array($0.utf8) }
        var packages: [SoftwarePackage] = []
        var fields = [String?](repeating: nil, count: Field.allCases.count)
        var malformedLines = 0

        func flush() {
            defer { fields = [String?](repeating: nil, count: Field.allCases.count) }
            guard let name = fields[Field.package.rawValue], !name.isEmpty else { return }
            guard let status = fields[Field.status.rawValue], status.hasSuffix(" installed") else { return }
            guard let version = fields[Field.version.rawValue], !version.isEmpty else {
                warnings.add("dpkg", "package \(name) has no version")
                return
            }
            let architecture = fields[Field.architecture.rawValue]
            let size = fields[Field.installedSize.rawValue].flatMap { Int64($0) }.map { $0 * 1024 }
            packages.append(
                SoftwarePackage(
                    name: name, version: version, architecture: architecture, source: .dpkg,
                    vendor: fields[Field.origin.rawValue] ?? vendor, installedSizeBytes: size,
                    installedAt: installTime(name, architecture)
                ))
        }

        bytes.withUnsafeBufferPointer { buffer in
            var lineStart = 0
            while lineStart <= buffer.count {
                var lineEnd = lineStart
                while lineEnd < buffer.count, buffer[lineEnd] != 0x0A { lineEnd += 1 }
                defer { lineStart = lineEnd + 1 }
                var contentEnd = lineEnd
                while contentEnd > lineStart, buffer[contentEnd - 1] == 0x20 || buffer[contentEnd - 1] == 0x09 || buffer[contentEnd - 1] == 0x0D {
                    contentEnd -= 1
                }
                if contentEnd == lineStart {
                    flush()
                    if lineEnd >= buffer.count { break }
                    continue
                }
                let first = buffer[lineStart]
                // Continuation lines of multi-line fields (Description, Conffiles) are not collected.
                if first == 0x20 || first == 0x09 { continue }
                var colon = lineStart
                while colon < contentEnd, buffer[colon] != 0x3A { colon += 1 }
                guard colon < contentEnd || buffer[contentEnd - 1] == 0x3A else {
                    malformedLines += 1
                    continue
                }
                let keyLength = colon - lineStart
                guard
                    let field = Field.allCases.first(where: {
                        names[$0.rawValue].count == keyLength
                            && names[$0.rawValue].withUnsafeBufferPointer { name in memcmp(name.baseAddress!, buffer.baseAddress! + lineStart, keyLength) == 0 }
                    })
                else { continue }
                var valueStart = colon + 1
                while valueStart < contentEnd, buffer[valueStart] == 0x20 || buffer[valueStart] == 0x09 { valueStart += 1 }
                // A second Package field without a blank line before it starts a new entry.
                if field == .package, fields[Field.package.rawValue] != nil { flush() }
                fields[field.rawValue] = String(decoding: UnsafeBufferPointer(rebasing: buffer[valueStart..<contentEnd]), as: UTF8.self)
            }
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
        return parse(
            bytes: bytes, vendor: vendor,
            installTime: { name, architecture in
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
            packages.append(
                SoftwarePackage(
                    name: columns[0], version: columns[1], architecture: present(columns[2]), source: .rpm,
                    vendor: present(columns[3]), installedSizeBytes: Int64(columns[4]), installedAt: Int64(columns[5])
                ))
        }
        if malformed > 0 { warnings.add("rpm", "\(malformed) lines of rpm output were not understood") }
        return packages
    }

    public static func probe(_ source: SystemSource, warnings: WarningLog) -> [SoftwarePackage]? {
        guard let rpm = ["/usr/bin/rpm", "/bin/rpm"].first(where: { source.exists($0) }),
            source.exists("/var/lib/rpm") || source.exists("/usr/lib/sysimage/rpm")
        else {
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
            packages.append(
                SoftwarePackage(
                    name: name, version: version, architecture: fields["A"], source: .apk,
                    vendor: fields["o"].map { "origin:\($0)" }, installedSizeBytes: fields["I"].flatMap { Int64($0) },
                    installedAt: nil
                ))
        }
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.isEmpty {
                flush()
                continue
            }
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
