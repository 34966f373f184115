import AssayModel

/// Runs every inventory probe (COL-1). Each probe fails alone: what it cannot read becomes a
/// warning in the document and the scan goes on.
public struct InventoryScanner {
    public let source: SystemSource
    public let botVersion: String

    public init(source: SystemSource = .live, botVersion: String) {
        self.source = source
        self.botVersion = botVersion
    }

    public func scan(now: Int64) -> InventoryDocument {
        let warnings = WarningLog()
        let device = MachineProbe.deviceIdentity(source, warnings: warnings)
        let os = OSReleaseParser.probe(source, warnings: warnings)
        let kernel = MachineProbe.kernel(source)
        let system = SystemInfo(
            os: os, kernelRelease: kernel.release, kernelVersion: kernel.version, architecture: kernel.architecture,
            virtualization: MachineProbe.virtualization(source), bootTime: MachineProbe.bootTime(source),
            timeZone: MachineProbe.timeZone(source))

        let software = softwarePackages(vendor: os.name ?? os.id, warnings: warnings)
        let processes = ProcessTable.read(source)
        if processes.hiddenDescriptorCount > 0 {
            warnings.add("processes", "the sockets of \(processes.hiddenDescriptorCount) processes are not visible without root")
        }
        let sockets = ProcNetParser.read(source, warnings: warnings, transports: ["tcp", "tcp6", "udp", "udp6"])
        let listening = ListeningPortProbe.listening(sockets, processes: processes)

        return InventoryDocument(
            header: DocumentHeader(kind: .inventory, botVersion: botVersion, collectedAt: now, device: device),
            system: system,
            cpu: CPUInfoParser.probe(source, warnings: warnings),
            memory: MemInfoParser.probe(source, warnings: warnings),
            disks: BlockDeviceProbe.probe(source, warnings: warnings),
            filesystems: MountInfoParser.probe(source, warnings: warnings),
            network: NetworkProbe.probe(source, warnings: warnings),
            software: software,
            services: ServiceProbe.probe(source, processes: processes, warnings: warnings),
            listeningPorts: listening,
            databases: ProductDetector.detect(databases: true, software: software, processes: processes, listening: listening),
            webServers: ProductDetector.detect(databases: false, software: software, processes: processes, listening: listening),
            warnings: warnings.warnings
        )
    }

    /// Installed packages from whichever package database the system has (also timed alone by bot-bench).
    public func softwarePackages(vendor: String?, warnings: WarningLog) -> [SoftwarePackage] {
        var packages: [SoftwarePackage] = []
        var found = false
        if let dpkg = DpkgStatusParser.probe(source, vendor: vendor, warnings: warnings) {
            packages += dpkg
            found = true
        }
        if let rpm = RpmParser.probe(source, warnings: warnings) {
            packages += rpm
            found = true
        }
        if let apk = ApkParser.probe(source, warnings: warnings) {
            packages += apk
            found = true
        }
        if !found { warnings.add("software", "no dpkg, rpm or apk package database found") }
        return packages
    }
}

/// Snapshots of TCP connections (COL-3), merged: one row per (local side, remote address, remote
/// port, direction, process), with first and last time seen and how many snapshots saw it.
public final class ConnectionCollector {
    public let source: SystemSource
    private var rows: [Key: Connection] = [:]
    public private(set) var snapshots = 0
    public let warnings = WarningLog()
    public static let maxRows = 20_000

    struct Key: Hashable {
        let localAddress: String
        let localPort: Int
        let remoteAddress: String
        let remotePort: Int
        let direction: Connection.Direction
        let process: String?
    }

    public init(source: SystemSource = .live) {
        self.source = source
    }

    public func snapshot(now: Int64) {
        snapshots += 1
        let processes = ProcessTable.read(source)
        let sockets = ProcNetParser.read(source, warnings: warnings)
        let listeningPorts = Set(sockets.filter { $0.state == "LISTEN" }.map(\.localPort))
        for socket in sockets where socket.state != "LISTEN" && socket.remotePort != 0 {
            let inbound = listeningPorts.contains(socket.localPort)
            let process = processes.processName(ofSocket: socket.inode)
            let database =
                ProductDetector.isDatabaseProcess(process)
                || ProductDetector.databasePorts.contains(inbound ? socket.localPort : socket.remotePort)
            // Outbound local ports are ephemeral: recording them would make every connection new.
            let key = Key(
                localAddress: socket.localAddress, localPort: inbound ? socket.localPort : 0,
                remoteAddress: socket.remoteAddress, remotePort: inbound ? 0 : socket.remotePort,
                direction: inbound ? .inbound : .outbound, process: process)
            if var row = rows[key] {
                row.lastSeen = now
                row.count += 1
                row.state = socket.state
                rows[key] = row
            } else if rows.count < Self.maxRows {
                rows[key] = Connection(
                    localAddress: key.localAddress, localPort: key.localPort, remoteAddress: key.remoteAddress,
                    remotePort: key.remotePort, state: socket.state,
                    direction: key.direction, process: process, database: database,
                    firstSeen: now, lastSeen: now, count: 1)
            }
        }
    }

    public var connections: [Connection] {
        rows.values.sorted { ($0.firstSeen, $0.remoteAddress, $0.remotePort) < ($1.firstSeen, $1.remoteAddress, $1.remotePort) }
    }

    public func reset() {
        rows = [:]
        snapshots = 0
    }
}
