import AssayModel

/// /proc/cpuinfo: model, sockets (distinct physical id), cores (distinct physical id + core id),
/// threads (processor entries), MHz (average of the entries that report it).
public enum CPUInfoParser {
    public static func parse(_ text: String) -> CPUInfo {
        var model: String?
        var threads = 0
        var sockets = Set<String>()
        var cores = Set<String>()
        var megahertz: [Double] = []
        var physical: String?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            guard let colon = line.firstIndex(of: ":") else {
                physical = nil
                continue
            }
            let key = line[..<colon].trimmed
            let value = line[line.index(after: colon)...].trimmed
            switch key {
            case "processor": threads += 1
            case "model name", "Model", "cpu model":
                if model == nil, !value.isEmpty { model = value }
            case "physical id":
                physical = value
                sockets.insert(value)
            case "core id": cores.insert("\(physical ?? "0"):\(value)")
            case "cpu MHz": if let mhz = Double(value) { megahertz.append(mhz) }
            default: break
            }
        }
        let average = megahertz.isEmpty ? nil : (megahertz.reduce(0, +) / Double(megahertz.count) * 10).rounded() / 10
        return CPUInfo(
            model: model,
            sockets: max(1, sockets.count),
            cores: cores.isEmpty ? threads : cores.count,
            threads: threads,
            mhz: average
        )
    }

    public static func probe(_ source: SystemSource, warnings: WarningLog) -> CPUInfo {
        guard let text = source.text("/proc/cpuinfo", limit: 8 << 20) else {
            warnings.add("cpu", "/proc/cpuinfo is not readable")
            return CPUInfo(model: nil, sockets: 0, cores: 0, threads: 0, mhz: nil)
        }
        return parse(text)
    }
}

/// /proc/meminfo: "Key:   value kB" lines.
public enum MemInfoParser {
    public static func parse(_ text: String) -> [String: Int64] {
        var values: [String: Int64] = [:]
        for line in text.split(separator: "\n").prefix(500) {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let parts = line[line.index(after: colon)...].split(separator: " ")
            guard let number = parts.first.flatMap({ Int64($0) }) else { continue }
            let multiplier: Int64 = parts.count > 1 && parts[1] == "kB" ? 1024 : 1
            let (bytes, overflow) = number.multipliedReportingOverflow(by: multiplier)
            if !overflow { values[String(line[..<colon])] = bytes }
        }
        return values
    }

    public static func probe(_ source: SystemSource, warnings: WarningLog) -> MemoryInfo {
        guard let text = source.text("/proc/meminfo") else {
            warnings.add("memory", "/proc/meminfo is not readable")
            return MemoryInfo(totalBytes: 0, availableBytes: nil, swapTotalBytes: 0, swapFreeBytes: nil)
        }
        let values = parse(text)
        if values["MemTotal"] == nil { warnings.add("memory", "/proc/meminfo has no MemTotal") }
        return MemoryInfo(
            totalBytes: values["MemTotal"] ?? 0,
            availableBytes: values["MemAvailable"],
            swapTotalBytes: values["SwapTotal"] ?? 0,
            swapFreeBytes: values["SwapFree"]
        )
    }
}

/// Whole disks from /sys/block, without loop, RAM and optical devices.
public enum BlockDeviceProbe {
    static func isPhysicalDisk(_ name: String) -> Bool {
        !["loop", "ram", "zram", "sr", "fd", "nbd"].contains(where: { name.hasPrefix($0) })
    }

    public static func probe(_ source: SystemSource, warnings: WarningLog) -> [BlockDevice] {
        source.list("/sys/block").filter(isPhysicalDisk).map { name in
            let base = "/sys/block/\(name)"
            let sectors = source.value("\(base)/size").flatMap { Int64($0) } ?? 0
            return BlockDevice(
                name: name,
                sizeBytes: sectors * 512,  // sysfs counts 512-byte sectors whatever the device's own size
                rotational: source.value("\(base)/queue/rotational").map { $0 == "1" },
                model: source.value("\(base)/device/model"),
                vendor: source.value("\(base)/device/vendor")
            )
        }
    }
}
