/// One inventory scan (COL-1): software and system configuration of one machine.
public struct InventoryDocument: Codable, Sendable, Equatable {
    public var header: DocumentHeader
    public var system: SystemInfo
    public var cpu: CPUInfo
    public var memory: MemoryInfo
    public var disks: [BlockDevice]
    public var filesystems: [Filesystem]
    public var network: NetworkInfo
    /// Installed packages, stored column by column (see `SoftwareInventory`).
    public var software: SoftwareInventory
    public var services: [Service]
    public var listeningPorts: [ListeningPort]
    public var databases: [DetectedProduct]
    public var webServers: [DetectedProduct]
    public var warnings: [ProbeWarning]

    public init(
        header: DocumentHeader, system: SystemInfo, cpu: CPUInfo, memory: MemoryInfo, disks: [BlockDevice],
        filesystems: [Filesystem], network: NetworkInfo, software: [SoftwarePackage], services: [Service],
        listeningPorts: [ListeningPort], databases: [DetectedProduct], webServers: [DetectedProduct], warnings: [ProbeWarning]
    ) {
        self.header = header
        self.system = system
        self.cpu = cpu
        self.memory = memory
        self.disks = disks
        self.filesystems = filesystems
        self.network = network
        self.software = SoftwareInventory(software)
        self.services = services
        self.listeningPorts = listeningPorts
        self.databases = databases
        self.webServers = webServers
        self.warnings = warnings
    }
}

public struct SystemInfo: Codable, Sendable, Equatable {
    public var os: OperatingSystem
    public var kernelRelease: String?
    public var kernelVersion: String?
    public var architecture: String
    public var virtualization: Virtualization
    /// Seconds since 1970-01-01 UTC.
    public var bootTime: Int64?
    public var timeZone: String?

    public init(
        os: OperatingSystem, kernelRelease: String?, kernelVersion: String?, architecture: String,
        virtualization: Virtualization, bootTime: Int64?, timeZone: String?
    ) {
        self.os = os
        self.kernelRelease = kernelRelease
        self.kernelVersion = kernelVersion
        self.architecture = architecture
        self.virtualization = virtualization
        self.bootTime = bootTime
        self.timeZone = timeZone
    }
}

/// From os-release(5).
public struct OperatingSystem: Codable, Sendable, Equatable {
    public var id: String?
    public var idLike: [String]
    public var name: String?
    public var version: String?
    public var versionID: String?
    public var prettyName: String?

    public init(id: String? = nil, idLike: [String] = [], name: String? = nil, version: String? = nil, versionID: String? = nil, prettyName: String? = nil) {
        self.id = id
        self.idLike = idLike
        self.name = name
        self.version = version
        self.versionID = versionID
        self.prettyName = prettyName
    }
}

public struct Virtualization: Codable, Sendable, Equatable {
    /// "none", "kvm", "vmware", "microsoft", "xen", "oracle", "qemu", "amazon", … (systemd-detect-virt names).
    public var machine: String
    /// "docker", "podman", "lxc", "containerd", "kubernetes" when running inside a container.
    public var container: String?
    /// "aws", "azure", "gcp", "oracle", "openstack", "hetzner", "digitalocean" from DMI.
    public var cloud: String?
    public var systemVendor: String?
    public var productName: String?

    public init(machine: String, container: String? = nil, cloud: String? = nil, systemVendor: String? = nil, productName: String? = nil) {
        self.machine = machine
        self.container = container
        self.cloud = cloud
        self.systemVendor = systemVendor
        self.productName = productName
    }
}

public struct CPUInfo: Codable, Sendable, Equatable {
    public var model: String?
    public var sockets: Int
    public var cores: Int
    public var threads: Int
    public var mhz: Double?

    public init(model: String?, sockets: Int, cores: Int, threads: Int, mhz: Double?) {
        self.model = model
        self.sockets = sockets
        self.cores = cores
        self.threads = threads
        self.mhz = mhz
    }
}

public struct MemoryInfo: Codable, Sendable, Equatable {
    public var totalBytes: Int64
    public var availableBytes: Int64?
    public var swapTotalBytes: Int64
    public var swapFreeBytes: Int64?

    public init(totalBytes: Int64, availableBytes: Int64?, swapTotalBytes: Int64, swapFreeBytes: Int64?) {
        self.totalBytes = totalBytes
        self.availableBytes = availableBytes
        self.swapTotalBytes = swapTotalBytes
        self.swapFreeBytes = swapFreeBytes
    }
}

public struct BlockDevice: Codable, Sendable, Equatable {
    public var name: String
    public var sizeBytes: Int64
    public var rotational: Bool?
    public var model: String?
    public var vendor: String?

    public init(name: String, sizeBytes: Int64, rotational: Bool?, model: String?, vendor: String?) {
        self.name = name
        self.sizeBytes = sizeBytes
        self.rotational = rotational
        self.model = model
        self.vendor = vendor
    }
}

public struct Filesystem: Codable, Sendable, Equatable {
    public var mountPoint: String
    public var type: String
    public var device: String
    public var sizeBytes: Int64
    public var usedBytes: Int64

    public init(mountPoint: String, type: String, device: String, sizeBytes: Int64, usedBytes: Int64) {
        self.mountPoint = mountPoint
        self.type = type
        self.device = device
        self.sizeBytes = sizeBytes
        self.usedBytes = usedBytes
    }
}

public struct NetworkInfo: Codable, Sendable, Equatable {
    public var interfaces: [NetworkInterface]
    public var defaultGateways: [String]
    public var dnsServers: [String]

    public init(interfaces: [NetworkInterface], defaultGateways: [String], dnsServers: [String]) {
        self.interfaces = interfaces
        self.defaultGateways = defaultGateways
        self.dnsServers = dnsServers
    }
}

public struct NetworkInterface: Codable, Sendable, Equatable {
    public var name: String
    public var mac: String?
    public var mtu: Int?
    public var speedMbps: Int?
    public var ipv4: [String]
    public var ipv6: [String]

    public init(name: String, mac: String?, mtu: Int?, speedMbps: Int?, ipv4: [String], ipv6: [String]) {
        self.name = name
        self.mac = mac
        self.mtu = mtu
        self.speedMbps = speedMbps
        self.ipv4 = ipv4
        self.ipv6 = ipv6
    }
}

public struct SoftwarePackage: Codable, Sendable, Equatable {
    public enum Source: String, Codable, Sendable { case dpkg, rpm, apk }

    public var name: String
    public var version: String
    public var architecture: String?
    public var source: Source
    /// The maintainer's organisation or the RPM vendor, without personal e-mail addresses.
    public var vendor: String?
    public var installedSizeBytes: Int64?
    /// Seconds since 1970-01-01 UTC, where the package database records it (rpm).
    public var installedAt: Int64?

    public init(name: String, version: String, architecture: String?, source: Source, vendor: String?, installedSizeBytes: Int64?, installedAt: Int64?) {
        self.name = name
        self.version = version
        self.architecture = architecture
        self.source = source
        self.vendor = vendor
        self.installedSizeBytes = installedSizeBytes
        self.installedAt = installedAt
    }
}

/// Packages as parallel columns, sorted by name: a third smaller than one object per package once
/// compressed (COL-4), because each column holds values of one kind. `packages` gives rows back.
public struct SoftwareInventory: Codable, Sendable, Equatable {
    public var name: [String]
    public var version: [String]
    public var architecture: [String?]
    public var source: [SoftwarePackage.Source]
    public var vendor: [String?]
    /// Installed size in KiB (dpkg's own unit; rpm and apk sizes are converted).
    public var installedSizeKiB: [Int64?]
    public var installedAt: [Int64?]

    public init(_ packages: [SoftwarePackage]) {
        let sorted = packages.sorted { ($0.name, $0.architecture ?? "") < ($1.name, $1.architecture ?? "") }
        name = sorted.map(\.name)
        version = sorted.map(\.version)
        architecture = sorted.map(\.architecture)
        source = sorted.map(\.source)
        vendor = sorted.map(\.vendor)
        installedSizeKiB = sorted.map { $0.installedSizeBytes.map { ($0 + 1023) / 1024 } }
        installedAt = sorted.map(\.installedAt)
    }

    public var count: Int { name.count }

    /// False for a malformed document whose columns disagree in length.
    public var columnsAgree: Bool {
        let n = name.count
        return [version.count, architecture.count, source.count, vendor.count, installedSizeKiB.count, installedAt.count].allSatisfy { $0 == n }
    }

    /// Rows again; nil when the columns disagree in length (a malformed document).
    public var packages: [SoftwarePackage]? {
        let n = name.count
        guard columnsAgree else { return nil }
        return (0..<n).map { index in
            SoftwarePackage(
                name: name[index], version: version[index], architecture: architecture[index], source: source[index],
                vendor: vendor[index], installedSizeBytes: installedSizeKiB[index].map { $0 * 1024 }, installedAt: installedAt[index])
        }
    }
}

public struct Service: Codable, Sendable, Equatable {
    public var name: String
    /// systemd ActiveState/SubState ("active/running"), or "running" for a daemon found in /proc.
    public var state: String
    public var manager: String

    public init(name: String, state: String, manager: String) {
        self.name = name
        self.state = state
        self.manager = manager
    }
}

public struct ListeningPort: Codable, Sendable, Equatable, Hashable {
    public var transport: String
    public var address: String
    public var port: Int
    /// The process name (comm), never its arguments.
    public var process: String?

    public init(transport: String, address: String, port: Int, process: String?) {
        self.transport = transport
        self.address = address
        self.port = port
        self.process = process
    }
}

/// A database engine or web server found on the machine.
public struct DetectedProduct: Codable, Sendable, Equatable {
    public var product: String
    public var version: String?
    /// How it was found: "package:postgresql-15", "process:postgres".
    public var evidence: [String]
    public var ports: [Int]

    public init(product: String, version: String?, evidence: [String], ports: [Int]) {
        self.product = product
        self.version = version
        self.evidence = evidence
        self.ports = ports
    }
}
