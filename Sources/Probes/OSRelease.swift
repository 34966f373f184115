import AssayModel

/// os-release(5): KEY=value lines, values optionally quoted with shell-style escapes.
public enum OSReleaseParser {
    public static func parse(_ text: String) -> [String: String] {
        var fields: [String: String] = [:]
        for rawLine in text.split(separator: "\n").prefix(200) {
            let line = rawLine.trimmed
            guard !line.hasPrefix("#"), let equals = line.firstIndex(of: "=") else { continue }
            let key = String(line[..<equals])
            guard !key.isEmpty, key.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else { continue }
            fields[key] = unquote(String(line[line.index(after: equals)...]))
        }
        return fields
    }

    static func unquote(_ value: String) -> String {
        guard let first = value.first, first == "\"" || first == "'", value.count >= 2, value.last == first else { return value }
        let inner = value.dropFirst().dropLast()
        guard first == "\"" else { return String(inner) }
        var out = ""
        var escaped = false
        for character in inner {
            if escaped {
                out.append(character)
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else {
                out.append(character)
            }
        }
        return out
    }

    public static func operatingSystem(from fields: [String: String]) -> OperatingSystem {
        OperatingSystem(
            id: fields["ID"],
            idLike: fields["ID_LIKE"].map { $0.split(separator: " ").map(String.init) } ?? [],
            name: fields["NAME"],
            version: fields["VERSION"],
            versionID: fields["VERSION_ID"],
            prettyName: fields["PRETTY_NAME"]
        )
    }

    public static func probe(_ source: SystemSource, warnings: WarningLog) -> OperatingSystem {
        guard let text = source.text("/etc/os-release", limit: 64 * 1024) ?? source.text("/usr/lib/os-release", limit: 64 * 1024) else {
            warnings.add("os-release", "neither /etc/os-release nor /usr/lib/os-release is readable")
            return OperatingSystem()
        }
        return operatingSystem(from: parse(text))
    }
}
