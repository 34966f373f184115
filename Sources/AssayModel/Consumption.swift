/// Resource consumption over one period (COL-2), stored column by column: one array entry per
/// bucket, integers only (tenths of a percent, bytes, tenths of an operation per second), so that
/// a device-day compresses to a few kilobytes.
public struct ConsumptionDocument: Codable, Sendable, Equatable {
    public var header: DocumentHeader
    public var sampleSeconds: Int
    public var bucketSeconds: Int
    /// Start of each bucket, seconds since 1970-01-01 UTC.
    public var bucketStarts: [Int64]
    /// Samples that went into each bucket.
    public var sampleCounts: [Int]
    /// CPU busy, tenths of a percent of all logical CPUs.
    public var cpu: StatSeries
    public var memoryUsedBytes: StatSeries
    public var memoryAvailableBytes: StatSeries
    public var disks: [DiskSeries]
    public var filesystems: [FilesystemSeries]
    public var interfaces: [InterfaceSeries]
    /// TCP connections seen during the period (COL-3), merged across snapshots.
    public var connections: [Connection]
    public var connectionSnapshots: Int
    public var warnings: [ProbeWarning]

    public init(header: DocumentHeader, sampleSeconds: Int, bucketSeconds: Int) {
        self.header = header
        self.sampleSeconds = sampleSeconds
        self.bucketSeconds = bucketSeconds
        self.bucketStarts = []
        self.sampleCounts = []
        self.cpu = StatSeries()
        self.memoryUsedBytes = StatSeries()
        self.memoryAvailableBytes = StatSeries()
        self.disks = []
        self.filesystems = []
        self.interfaces = []
        self.connections = []
        self.connectionSnapshots = 0
        self.warnings = []
    }
}

/// Per-bucket aggregates: average, 95th percentile (nearest rank) and maximum.
public struct StatSeries: Codable, Sendable, Equatable {
    public var avg: [Int64]
    public var p95: [Int64]
    public var max: [Int64]

    public init(avg: [Int64] = [], p95: [Int64] = [], max: [Int64] = []) {
        self.avg = avg
        self.p95 = p95
        self.max = max
    }
}

public struct DiskSeries: Codable, Sendable, Equatable {
    public var name: String
    /// Tenths of an operation per second.
    public var readIOPS: StatSeries
    public var writeIOPS: StatSeries
    public var readBytesPerSecond: StatSeries
    public var writeBytesPerSecond: StatSeries

    public init(name: String) {
        self.name = name
        self.readIOPS = StatSeries()
        self.writeIOPS = StatSeries()
        self.readBytesPerSecond = StatSeries()
        self.writeBytesPerSecond = StatSeries()
    }
}

public struct FilesystemSeries: Codable, Sendable, Equatable {
    public var mountPoint: String
    public var sizeBytes: Int64
    /// Used bytes at the end of each bucket.
    public var usedBytes: [Int64]

    public init(mountPoint: String, sizeBytes: Int64) {
        self.mountPoint = mountPoint
        self.sizeBytes = sizeBytes
        self.usedBytes = []
    }
}

public struct InterfaceSeries: Codable, Sendable, Equatable {
    public var name: String
    public var rxBytesPerSecond: StatSeries
    public var txBytesPerSecond: StatSeries

    public init(name: String) {
        self.name = name
        self.rxBytesPerSecond = StatSeries()
        self.txBytesPerSecond = StatSeries()
    }
}
