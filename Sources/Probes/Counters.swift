import AssayModel

/// Raw kernel counters at one instant; rates come from the difference of two of these.
public struct CounterSnapshot: Sendable {
    /// Monotonic seconds, for rates.
    public var monotonic: Double
    public var cpuBusy: UInt64 = 0
    public var cpuTotal: UInt64 = 0
    public var memoryUsed: Int64 = 0
    public var memoryAvailable: Int64 = 0
    public var disks: [String: DiskCounters] = [:]
    public var interfaces: [String: (rx: UInt64, tx: UInt64)] = [:]

    public struct DiskCounters: Sendable, Equatable {
        public var reads: UInt64
        public var sectorsRead: UInt64
        public var writes: UInt64
        public var sectorsWritten: UInt64
    }
}

public enum CounterReader {
    /// /proc/stat "cpu" line: user nice system idle iowait irq softirq steal (guest is inside user).
    public static func parseCPU(_ text: String) -> (busy: UInt64, total: UInt64)? {
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("cpu ") }) else { return nil }
        let values = line.split(separator: " ").dropFirst().prefix(8).compactMap { UInt64($0) }
        guard values.count >= 4 else { return nil }
        let total = values.reduce(0, &+)
        let idle = values[3] &+ (values.count > 4 ? values[4] : 0)
        return (total &- idle, total)
    }

    /// /proc/diskstats (Documentation/admin-guide/iostats.rst): fields 4, 6, 8, 10 after the name.
    public static func parseDiskstats(_ text: String, include: (String) -> Bool) -> [String: CounterSnapshot.DiskCounters] {
        var disks: [String: CounterSnapshot.DiskCounters] = [:]
        for line in text.split(separator: "\n").prefix(10_000) {
            let fields = line.split(separator: " ")
            guard fields.count >= 10, include(String(fields[2])),
                let reads = UInt64(fields[3]), let sectorsRead = UInt64(fields[5]),
                let writes = UInt64(fields[7]), let sectorsWritten = UInt64(fields[9])
            else { continue }
            disks[String(fields[2])] = .init(reads: reads, sectorsRead: sectorsRead, writes: writes, sectorsWritten: sectorsWritten)
        }
        return disks
    }

    /// /proc/net/dev: "name: rx_bytes … (8 fields) tx_bytes …".
    public static func parseNetDev(_ text: String) -> [String: (rx: UInt64, tx: UInt64)] {
        var interfaces: [String: (rx: UInt64, tx: UInt64)] = [:]
        for line in text.split(separator: "\n").dropFirst(2).prefix(10_000) {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].trimmed
            let fields = line[line.index(after: colon)...].split(separator: " ")
            guard name != "lo", fields.count >= 9, let rx = UInt64(fields[0]), let tx = UInt64(fields[8]) else { continue }
            interfaces[name] = (rx, tx)
        }
        return interfaces
    }

    public static func read(_ source: SystemSource, disks: Set<String>, monotonic: Double) -> CounterSnapshot {
        var snapshot = CounterSnapshot(monotonic: monotonic)
        if let cpu = source.text("/proc/stat", limit: 1 << 20).flatMap(parseCPU) {
            snapshot.cpuBusy = cpu.busy
            snapshot.cpuTotal = cpu.total
        }
        if let memory = source.text("/proc/meminfo").map(MemInfoParser.parse) {
            let available = memory["MemAvailable"] ?? memory["MemFree"] ?? 0
            snapshot.memoryAvailable = available
            snapshot.memoryUsed = max(0, (memory["MemTotal"] ?? 0) - available)
        }
        snapshot.disks = parseDiskstats(source.text("/proc/diskstats", limit: 4 << 20) ?? "", include: disks.contains)
        snapshot.interfaces = parseNetDev(source.text("/proc/net/dev", limit: 4 << 20) ?? "")
        return snapshot
    }
}

/// Values of one metric within a bucket, reduced to average, 95th percentile and maximum.
struct MetricWindow {
    private(set) var values: [Int64] = []

    mutating func add(_ value: Int64) { values.append(value) }

    /// Nearest-rank percentile: the smallest value with at least 95 % of values at or below it.
    func summary() -> (avg: Int64, p95: Int64, max: Int64) {
        guard !values.isEmpty else { return (0, 0, 0) }
        let sorted = values.sorted()
        let rank = max(1, Int((Double(sorted.count) * 0.95).rounded(.up)))
        let sum = values.reduce(Int64(0)) { $0 &+ $1 }
        return (Int64((Double(sum) / Double(values.count)).rounded()), sorted[rank - 1], sorted.last!)
    }
}

/// How much precision a series keeps. Capacity planning needs two significant digits of a rate,
/// and every digit dropped is noise zlib cannot compress (COL-4).
enum Precision {
    case exact
    case twoSignificantDigits
    case mebibytes

    func apply(_ value: Int64) -> Int64 {
        switch self {
        case .exact:
            return value
        case .mebibytes:
            return ((value + (1 << 19)) >> 20) << 20
        case .twoSignificantDigits:
            guard value >= 100 else { return value }
            var scale: Int64 = 1
            while value / scale >= 100 { scale *= 10 }
            return (value + scale / 2) / scale * scale
        }
    }
}

extension StatSeries {
    mutating func append(_ window: MetricWindow, precision: Precision = .exact) {
        let summary = window.summary()
        avg.append(precision.apply(summary.avg))
        p95.append(precision.apply(summary.p95))
        max.append(precision.apply(summary.max))
    }
}
