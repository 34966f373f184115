import AssayModel
import FoundationEssentials
import OpenPGP
import Probes

#if canImport(Glibc)
    import Glibc
#endif

/// Measurements for bench/bot.sh that a single command run cannot give:
///   bot-bench sample-cost N            CPU µs per sample (reading and parsing the counters), N samples
///   bot-bench day-size PUBLIC_KEY      encrypted bytes of one device-day (20 s samples, 5 min buckets,
///                                      this machine's disks, interfaces and connections, synthetic load)

func cpuMicros() -> Double {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1e6 + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec)
}

let arguments = CommandLine.arguments
switch arguments.count >= 3 ? arguments[1] : "" {
case "sample-cost":
    let count = Int(arguments[2]) ?? 1000
    let disks = Set(BlockDeviceProbe.probe(.live, warnings: WarningLog()).map(\.name))
    let recorder = ConsumptionRecorder(
        header: DocumentHeader(kind: .consumption, botVersion: "bench", collectedAt: 0, device: DeviceIdentity(id: "x", hostname: "x", fqdn: nil)),
        sampleSeconds: 20, bucketSeconds: 300, diskNames: Array(disks))
    let start = cpuMicros()
    for index in 0..<count {
        recorder.record(CounterReader.read(.live, disks: disks, monotonic: Double(index * 20)), wallClock: Int64(index * 20))
        if index % 15 == 14 { recorder.closeBucket(filesystems: []) }
    }
    print(((cpuMicros() - start) / Double(count) * 10).rounded() / 10)

case "day-size":
    let keyBytes = SystemSource.live.read(arguments[2]) ?? []
    let certificate = try Certificate(importing: keyBytes)
    let disks = BlockDeviceProbe.probe(.live, warnings: WarningLog()).map(\.name)
    let filesystems = MountInfoParser.probe(.live, warnings: WarningLog())
    let header = DocumentHeader(
        kind: .consumption, botVersion: "bench", collectedAt: 0,
        device: DeviceIdentity(id: "e51a0edf-7b87-513a-9a8a-cbe122d5c298", hostname: "db-01", fqdn: "db-01.corp.example"))
    var generator = SystemRandomNumberGenerator()
    let files = Int(arguments.count > 3 ? arguments[3] : "24") ?? 24
    var total = 0
    var base = CounterReader.read(.live, disks: Set(disks), monotonic: 0)
    let connections = ConnectionCollector()
    for file in 0..<files {
        let recorder = ConsumptionRecorder(header: header, sampleSeconds: 20, bucketSeconds: 300, diskNames: disks)
        let buckets = 288 / files
        for sample in 0...buckets * 15 {
            // A plausible busy server: counters advance by noisy amounts every 20 s.
            base.monotonic += 20
            base.cpuTotal += 4000
            base.cpuBusy += UInt64.random(in: 400...2400, using: &generator)
            base.memoryUsed = 6_000_000_000 + Int64.random(in: 0...500_000_000, using: &generator)
            base.memoryAvailable = 10_000_000_000 - base.memoryUsed
            for name in base.disks.keys {
                base.disks[name]!.reads += UInt64.random(in: 0...2000, using: &generator)
                base.disks[name]!.writes += UInt64.random(in: 100...6000, using: &generator)
                base.disks[name]!.sectorsRead += UInt64.random(in: 0...80_000, using: &generator)
                base.disks[name]!.sectorsWritten += UInt64.random(in: 1000...200_000, using: &generator)
            }
            for name in base.interfaces.keys {
                base.interfaces[name]!.rx += UInt64.random(in: 10_000...50_000_000, using: &generator)
                base.interfaces[name]!.tx += UInt64.random(in: 10_000...20_000_000, using: &generator)
            }
            recorder.record(base, wallClock: 1_795_000_000 + Int64(file * buckets * 300 + sample * 20))
            if sample > 0, sample % 15 == 0 { recorder.closeBucket(filesystems: filesystems) }
        }
        for snapshot in 0..<buckets where snapshot % 1 == 0 { connections.snapshot(now: 1_795_000_000 + Int64(file * buckets * 300 + snapshot * 300)) }
        var document = recorder.takeDocument(collectedAt: 1_795_000_000, warnings: [])
        document.connections = connections.connections
        document.connectionSnapshots = connections.snapshots
        connections.reset()
        let json = try JSONEncoder().encode(document)
        total += try MessageEncryptor.encrypt(Array(json), to: [certificate]).count
    }
    print(total)

case "inventory-phases":
    // Where an inventory's time goes: each phase run N times, milliseconds of CPU per run.
    let keyBytes = SystemSource.live.read(arguments[2]) ?? []
    let certificate = try Certificate(importing: keyBytes)
    let runs = Int(arguments.count > 3 ? arguments[3] : "20") ?? 20
    func phase(_ name: String, _ body: () throws -> Void) rethrows {
        let start = cpuMicros()
        for _ in 0..<runs { try body() }
        print(name + String(repeating: " ", count: max(1, 22 - name.count)), ((cpuMicros() - start) / Double(runs) / 10).rounded() / 100, "ms")
    }
    let scanner = InventoryScanner(botVersion: "bench")
    let warnings = WarningLog()
    phase("software (dpkg/rpm)") { _ = scanner.softwarePackages(vendor: nil, warnings: warnings) }
    phase("processes") { _ = ProcessTable.read(.live) }
    phase("sockets") { _ = ProcNetParser.read(.live, warnings: warnings, transports: ["tcp", "tcp6", "udp", "udp6"]) }
    let processes = ProcessTable.read(.live)
    phase("services") { _ = ServiceProbe.probe(.live, processes: processes, warnings: warnings) }
    phase("network") { _ = NetworkProbe.probe(.live, warnings: warnings) }
    phase("disks") { _ = BlockDeviceProbe.probe(.live, warnings: warnings) }
    phase("filesystems") { _ = MountInfoParser.probe(.live, warnings: warnings) }
    phase("cpu") { _ = CPUInfoParser.probe(.live, warnings: warnings) }
    phase("device identity") { _ = MachineProbe.deviceIdentity(.live, warnings: warnings) }
    let sockets = ProcNetParser.read(.live, warnings: warnings, transports: ["tcp", "tcp6", "udp", "udp6"])
    let software = scanner.softwarePackages(vendor: nil, warnings: warnings)
    phase("listening") { _ = ListeningPortProbe.listening(sockets, processes: processes) }
    let listening = ListeningPortProbe.listening(sockets, processes: processes)
    phase("products") {
        _ = ProductDetector.detect(databases: true, software: software, processes: processes, listening: listening)
        _ = ProductDetector.detect(databases: false, software: software, processes: processes, listening: listening)
    }
    phase("machine") {
        _ = MachineProbe.kernel(.live)
        _ = MachineProbe.virtualization(.live)
        _ = MachineProbe.bootTime(.live)
        _ = MachineProbe.timeZone(.live)
        _ = OSReleaseParser.probe(.live, warnings: warnings)
        _ = MemInfoParser.probe(.live, warnings: warnings)
    }
    phase("whole scan") { _ = scanner.scan(now: 0) }
    let document = scanner.scan(now: 0)
    var json: [UInt8] = []
    try phase("JSON encoding") { json = Array(try JSONEncoder().encode(document)) }
    try phase("compress+encrypt") { _ = try MessageEncryptor.encrypt(json, to: [certificate]) }
    print("JSON bytes", json.count)

default:
    print("usage: bot-bench sample-cost N | day-size PUBLIC_KEY [FILES_PER_DAY] | inventory-phases PUBLIC_KEY [RUNS]")
    exit(64)
}
