import AssayModel

#if canImport(Glibc)
    import Glibc
#endif

/// Turns counter snapshots into per-bucket aggregates (COL-2), one document per period.
public final class ConsumptionRecorder {
    public let sampleSeconds: Int
    public let bucketSeconds: Int
    private let header: DocumentHeader
    private var document: ConsumptionDocument
    private var previous: CounterSnapshot?
    private var bucketStart: Int64?
    private var samples = 0
    private var cpu = MetricWindow()
    private var memoryUsed = MetricWindow()
    private var memoryAvailable = MetricWindow()
    private var disks: [String: [MetricWindow]] = [:]
    private var interfaces: [String: [MetricWindow]] = [:]
    private let diskNames: [String]
    private var interfaceNames: [String] = []

    public init(header: DocumentHeader, sampleSeconds: Int, bucketSeconds: Int, diskNames: [String]) {
        self.header = header
        self.sampleSeconds = sampleSeconds
        self.bucketSeconds = bucketSeconds
        self.diskNames = diskNames.sorted()
        self.document = ConsumptionDocument(header: header, sampleSeconds: sampleSeconds, bucketSeconds: bucketSeconds)
        document.disks = self.diskNames.map(DiskSeries.init(name:))
    }

    public var hasBuckets: Bool { !document.bucketStarts.isEmpty }
    public var hasOpenSamples: Bool { samples > 0 }

    /// Adds one sample: rates between the previous snapshot and this one.
    public func record(_ snapshot: CounterSnapshot, wallClock: Int64) {
        defer { previous = snapshot }
        guard let previous else { return }
        let seconds = snapshot.monotonic - previous.monotonic
        guard seconds > 0 else { return }
        if bucketStart == nil { bucketStart = wallClock - Int64(seconds.rounded()) }
        samples += 1
        let totalDelta = snapshot.cpuTotal &- previous.cpuTotal
        let busyDelta = snapshot.cpuBusy &- previous.cpuBusy
        cpu.add(totalDelta == 0 || busyDelta > totalDelta ? 0 : Int64((Double(busyDelta) / Double(totalDelta) * 1000).rounded()))
        memoryUsed.add(snapshot.memoryUsed)
        memoryAvailable.add(snapshot.memoryAvailable)

        func rate(_ new: UInt64, _ old: UInt64, scale: Double = 1) -> Int64 {
            new < old ? 0 : Int64((Double(new - old) * scale / seconds).rounded())  // a counter reset reads as 0
        }
        for name in diskNames {
            guard let new = snapshot.disks[name], let old = previous.disks[name] else { continue }
            var windows = disks[name] ?? Array(repeating: MetricWindow(), count: 4)
            windows[0].add(rate(new.reads, old.reads, scale: 10))
            windows[1].add(rate(new.writes, old.writes, scale: 10))
            windows[2].add(rate(new.sectorsRead, old.sectorsRead, scale: 512))
            windows[3].add(rate(new.sectorsWritten, old.sectorsWritten, scale: 512))
            disks[name] = windows
        }
        if interfaceNames.isEmpty {
            interfaceNames = snapshot.interfaces.keys.sorted()
            document.interfaces = interfaceNames.map(InterfaceSeries.init(name:))
        }
        for name in interfaceNames {
            guard let new = snapshot.interfaces[name], let old = previous.interfaces[name] else { continue }
            var windows = interfaces[name] ?? Array(repeating: MetricWindow(), count: 2)
            windows[0].add(rate(new.rx, old.rx))
            windows[1].add(rate(new.tx, old.tx))
            interfaces[name] = windows
        }
    }

    /// Ends the current bucket; `filesystems` gives (mount point, size, used) at its end.
    public func closeBucket(filesystems: [Filesystem]) {
        guard samples > 0, let start = bucketStart else { return }
        document.bucketStarts.append(start)
        document.sampleCounts.append(samples)
        document.cpu.append(cpu)
        document.memoryUsedBytes.append(memoryUsed, precision: .mebibytes)
        document.memoryAvailableBytes.append(memoryAvailable, precision: .mebibytes)
        for index in document.disks.indices {
            let windows = disks[document.disks[index].name] ?? Array(repeating: MetricWindow(), count: 4)
            document.disks[index].readIOPS.append(windows[0], precision: .twoSignificantDigits)
            document.disks[index].writeIOPS.append(windows[1], precision: .twoSignificantDigits)
            document.disks[index].readBytesPerSecond.append(windows[2], precision: .twoSignificantDigits)
            document.disks[index].writeBytesPerSecond.append(windows[3], precision: .twoSignificantDigits)
        }
        for index in document.interfaces.indices {
            let windows = interfaces[document.interfaces[index].name] ?? Array(repeating: MetricWindow(), count: 2)
            document.interfaces[index].rxBytesPerSecond.append(windows[0], precision: .twoSignificantDigits)
            document.interfaces[index].txBytesPerSecond.append(windows[1], precision: .twoSignificantDigits)
        }
        let bucketCount = document.bucketStarts.count
        for filesystem in filesystems {
            if let index = document.filesystems.firstIndex(where: { $0.mountPoint == filesystem.mountPoint }) {
                document.filesystems[index].usedBytes.append(Precision.mebibytes.apply(filesystem.usedBytes))
            } else {
                var series = FilesystemSeries(mountPoint: filesystem.mountPoint, sizeBytes: filesystem.sizeBytes)
                // A file system mounted mid-period has no value for the earlier buckets.
                series.usedBytes = Array(repeating: -1, count: bucketCount - 1) + [Precision.mebibytes.apply(filesystem.usedBytes)]
                document.filesystems.append(series)
            }
        }
        for index in document.filesystems.indices where document.filesystems[index].usedBytes.count < bucketCount {
            document.filesystems[index].usedBytes.append(-1)
        }
        samples = 0
        bucketStart = nil
        cpu = MetricWindow()
        memoryUsed = MetricWindow()
        memoryAvailable = MetricWindow()
        disks = [:]
        interfaces = [:]
    }

    /// Hands over the finished period and starts a new one (the last snapshot carries over).
    public func takeDocument(collectedAt: Int64, warnings: [ProbeWarning]) -> ConsumptionDocument {
        var finished = document
        finished.header.collectedAt = collectedAt
        finished.warnings = warnings
        document = ConsumptionDocument(header: header, sampleSeconds: sampleSeconds, bucketSeconds: bucketSeconds)
        document.disks = diskNames.map(DiskSeries.init(name:))
        document.interfaces = interfaceNames.map(InterfaceSeries.init(name:))
        return finished
    }
}

public struct SamplerConfiguration: Sendable, Equatable {
    public var sampleSeconds: Int = 20
    public var bucketSeconds: Int = 300
    public var durationSeconds: Int = 86_400
    public var fileEverySeconds: Int = 3600
    public var connectionEverySeconds: Int = 300
    public static let maxDurationSeconds = 90 * 86_400

    public init() {}

    public func validate() throws(SamplerError) {
        guard sampleSeconds >= 1 else { throw .invalid("--interval must be at least 1s") }
        guard bucketSeconds >= sampleSeconds else { throw .invalid("--bucket must be at least --interval") }
        guard bucketSeconds % sampleSeconds == 0 else { throw .invalid("--bucket must be a multiple of --interval") }
        guard durationSeconds >= sampleSeconds else { throw .invalid("--duration must be at least --interval") }
        guard durationSeconds <= Self.maxDurationSeconds else { throw .invalid("--duration may not exceed 90 days (COL-2)") }
        guard fileEverySeconds >= bucketSeconds else { throw .invalid("--file-every must be at least --bucket") }
        guard connectionEverySeconds >= 1 else { throw .invalid("the connection interval must be at least 1s") }
    }
}

public enum SamplerError: Error, Equatable, CustomStringConvertible {
    case invalid(String)
    public var description: String {
        switch self {
        case .invalid(let why): why
        }
    }
}

/// Clocks and sleeping, replaceable in tests.
public struct SamplerClock: Sendable {
    public var monotonic: @Sendable () -> Double
    public var wallClock: @Sendable () -> Int64
    /// Sleeps until the monotonic time, or returns early when `shouldStop` turns true.
    public var sleep: @Sendable (_ until: Double, _ shouldStop: @Sendable () -> Bool) -> Void

    public static let system = SamplerClock(
        monotonic: {
            var spec = timespec()
            clock_gettime(CLOCK_MONOTONIC, &spec)
            return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
        },
        wallClock: { Int64(time(nil)) },
        sleep: { until, shouldStop in
            while !shouldStop() {
                var spec = timespec()
                clock_gettime(CLOCK_MONOTONIC, &spec)
                let remaining = until - (Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9)
                guard remaining > 0 else { return }
                // Short slices: a signal is noticed within a quarter of a second.
                let slice = min(remaining, 0.25)
                var request = timespec(tv_sec: Int(slice), tv_nsec: Int((slice - Double(Int(slice))) * 1e9))
                nanosleep(&request, nil)
            }
        }
    )
}

/// The sampling loop: samples at a fixed interval, closes buckets, snapshots connections, and
/// hands a document to `emit` at the end of each period, at the end of the run, and when stopped.
public final class Sampler {
    public let source: SystemSource
    public let configuration: SamplerConfiguration
    private let clock: SamplerClock
    private let header: DocumentHeader

    public init(source: SystemSource = .live, configuration: SamplerConfiguration, header: DocumentHeader, clock: SamplerClock = .system) {
        self.source = source
        self.configuration = configuration
        self.header = header
        self.clock = clock
    }

    public func run(shouldStop: @escaping @Sendable () -> Bool, emit: (ConsumptionDocument) throws -> Void) throws {
        let warnings = WarningLog()
        let diskNames = BlockDeviceProbe.probe(source, warnings: warnings).map(\.name)
        let diskSet = Set(diskNames)
        let filesystems = { MountInfoParser.probe(self.source, warnings: WarningLog()) }
        let recorder = ConsumptionRecorder(
            header: header, sampleSeconds: configuration.sampleSeconds,
            bucketSeconds: configuration.bucketSeconds, diskNames: diskNames)
        let connections = ConnectionCollector(source: source)
        let interval = Double(configuration.sampleSeconds)
        let start = clock.monotonic()
        let end = start + Double(configuration.durationSeconds)
        var nextSample = start + interval
        var bucketEnd = start + Double(configuration.bucketSeconds)
        var fileEnd = start + Double(configuration.fileEverySeconds)
        var nextConnections = start

        func emitPeriod() throws {
            if recorder.hasOpenSamples { recorder.closeBucket(filesystems: filesystems()) }
            guard recorder.hasBuckets || connections.snapshots > 0 else { return }
            var document = recorder.takeDocument(collectedAt: clock.wallClock(), warnings: warnings.warnings + connections.warnings.warnings)
            document.connections = connections.connections
            document.connectionSnapshots = connections.snapshots
            connections.reset()
            try emit(document)
        }

        recorder.record(CounterReader.read(source, disks: diskSet, monotonic: start), wallClock: clock.wallClock())
        while !shouldStop() {
            if clock.monotonic() >= nextConnections {
                connections.snapshot(now: clock.wallClock())
                nextConnections += Double(configuration.connectionEverySeconds)
            }
            clock.sleep(min(nextSample, end), shouldStop)
            let now = clock.monotonic()
            if shouldStop() && now < nextSample - 0.5 { break }
            recorder.record(CounterReader.read(source, disks: diskSet, monotonic: now), wallClock: clock.wallClock())
            nextSample += interval
            while nextSample <= now { nextSample += interval }  // a stalled machine skips samples, not the schedule
            if now >= bucketEnd - 0.001 || now >= end - 0.001 {
                recorder.closeBucket(filesystems: filesystems())
                while bucketEnd <= now + 0.001 { bucketEnd += Double(configuration.bucketSeconds) }
            }
            if now >= fileEnd - 0.001 || now >= end - 0.001 {
                try emitPeriod()
                while fileEnd <= now + 0.001 { fileEnd += Double(configuration.fileEverySeconds) }
            }
            if now >= end - 0.001 { return }
        }
        try emitPeriod()
    }
}
