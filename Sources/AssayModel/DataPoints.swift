/// Every data point the bot collects (COL-5), with its meaning, unit and source. `assay-bot
/// datapoints` prints this list and docs/data-points.md is generated from it, so the published list
/// and the code cannot drift apart (a test compares them).
public struct DataPoint: Sendable, Equatable {
    public let document: DocumentKind
    public let name: String
    public let meaning: String
    public let unit: String
    public let source: String
}

public enum DataPoints {
    public static let all: [DataPoint] = inventory + consumption

    static func p(_ document: DocumentKind, _ name: String, _ meaning: String, _ unit: String, _ source: String) -> DataPoint {
        DataPoint(document: document, name: name, meaning: meaning, unit: unit, source: source)
    }

    static let inventory: [DataPoint] = [
        p(
            .inventory, "header.device.id", "stable device id: SHA-256 of a fixed label and the machine id, as a UUID (the machine id itself is not sent)",
            "UUID", "/etc/machine-id, /var/lib/dbus/machine-id or /sys/class/dmi/id/product_uuid"),
        p(.inventory, "header.device.hostname", "host name", "text", "/proc/sys/kernel/hostname"),
        p(.inventory, "header.device.fqdn", "fully qualified domain name (no DNS query)", "text", "/etc/hosts, /etc/resolv.conf domain/search"),
        p(.inventory, "header.collectedAt", "time of the scan", "seconds since 1970 UTC", "system clock"),
        p(.inventory, "header.botVersion", "version of assay-bot", "text", "the bot"),
        p(.inventory, "system.os.id / idLike / name / version / versionID / prettyName", "operating system", "text", "/etc/os-release or /usr/lib/os-release"),
        p(.inventory, "system.kernelRelease / kernelVersion", "kernel", "text", "/proc/sys/kernel/osrelease, /proc/sys/kernel/version"),
        p(.inventory, "system.architecture", "machine architecture", "text", "uname(2)"),
        p(
            .inventory, "system.virtualization.machine", "hypervisor, or none", "systemd-detect-virt name",
            "/sys/class/dmi/id/{sys_vendor,product_name,bios_vendor}, /sys/hypervisor/type, /proc/cpuinfo flags"),
        p(
            .inventory, "system.virtualization.container", "container runtime, if inside one", "text",
            "/run/systemd/container, /.dockerenv, /run/.containerenv, /proc/1/cgroup"),
        p(.inventory, "system.virtualization.cloud", "cloud provider hint", "text", "DMI vendor, product and chassis asset tag"),
        p(.inventory, "system.virtualization.systemVendor / productName", "hardware vendor and model", "text", "/sys/class/dmi/id/sys_vendor, product_name"),
        p(.inventory, "system.bootTime", "boot time", "seconds since 1970 UTC", "/proc/stat btime"),
        p(.inventory, "system.timeZone", "time zone", "IANA name", "/etc/timezone or the /etc/localtime link"),
        p(.inventory, "cpu.model / sockets / cores / threads / mhz", "processor", "text, counts, MHz", "/proc/cpuinfo"),
        p(.inventory, "memory.totalBytes / availableBytes / swapTotalBytes / swapFreeBytes", "memory and swap", "bytes", "/proc/meminfo"),
        p(
            .inventory, "disks[].name / sizeBytes / rotational / model / vendor", "whole disks (no loop, RAM or optical devices)", "bytes, flag, text",
            "/sys/block/*/{size,queue/rotational,device/model,device/vendor}"),
        p(
            .inventory, "filesystems[].mountPoint / type / device / sizeBytes / usedBytes", "mounted data file systems (no pseudo file systems)", "bytes",
            "/proc/self/mountinfo, statvfs(3)"),
        p(
            .inventory, "network.interfaces[].name / mac / mtu / speedMbps / ipv4 / ipv6", "network interfaces except loopback", "text, bytes, Mbit/s",
            "/sys/class/net/*, getifaddrs(3)"),
        p(.inventory, "network.defaultGateways", "default routes", "addresses", "/proc/net/route, /proc/net/ipv6_route"),
        p(.inventory, "network.dnsServers", "resolvers", "addresses", "/etc/resolv.conf nameserver lines"),
        p(
            .inventory, "software.name / version / architecture / source", "installed packages, one column per field, sorted by name", "text",
            "/var/lib/dpkg/status, rpm -qa, /lib/apk/db/installed"),
        p(
            .inventory, "software.vendor", "distribution or vendor (dpkg Origin or the OS name, RPM Vendor, apk origin); never a maintainer's name or e-mail",
            "text", "package database"),
        p(.inventory, "software.installedSizeKiB", "installed size", "KiB", "dpkg Installed-Size, rpm SIZE, apk I:"),
        p(
            .inventory, "software.installedAt", "install or last upgrade time", "seconds since 1970 UTC",
            "mtime of /var/lib/dpkg/info/<package>.list, rpm INSTALLTIME"),
        p(
            .inventory, "services[].name / state / manager", "services (systemd units, else daemons)", "text",
            "systemctl list-units --type=service --all, /proc/*/comm"),
        p(
            .inventory, "listeningPorts[].transport / address / port / process", "listening TCP and UDP sockets and the process name (never its arguments)",
            "text, port", "/proc/net/{tcp,tcp6,udp,udp6}, /proc/*/fd, /proc/*/comm"),
        p(
            .inventory, "databases[] / webServers[]: product / version / evidence / ports",
            "detected PostgreSQL, MySQL, MariaDB, SQL Server, Oracle, MongoDB, Redis; nginx, Apache, Caddy", "text, ports",
            "package names and versions, process names, listening ports"),
        p(.inventory, "warnings[].probe / message", "what could not be read, so that gaps are visible", "text", "the probes"),
    ]

    static let consumption: [DataPoint] = [
        p(.consumption, "sampleSeconds / bucketSeconds", "sampling interval and bucket length", "seconds", "command line"),
        p(.consumption, "bucketStarts / sampleCounts", "start of each bucket and samples in it", "seconds since 1970 UTC, count", "system clock"),
        p(.consumption, "cpu.avg / p95 / max", "CPU busy across all logical CPUs", "tenths of a percent", "/proc/stat cpu line"),
        p(
            .consumption, "memoryUsedBytes / memoryAvailableBytes (avg, p95, max)", "memory in use (total − available) and available, to the MiB", "bytes",
            "/proc/meminfo"),
        p(
            .consumption, "disks[].readIOPS / writeIOPS (avg, p95, max)", "operations per second per disk, two significant digits",
            "tenths of an operation per second", "/proc/diskstats"),
        p(
            .consumption, "disks[].readBytesPerSecond / writeBytesPerSecond (avg, p95, max)", "disk throughput, two significant digits", "bytes per second",
            "/proc/diskstats"),
        p(
            .consumption, "filesystems[].mountPoint / sizeBytes / usedBytes", "used space at the end of each bucket (−1 when not mounted)", "bytes",
            "statvfs(3)"),
        p(
            .consumption, "interfaces[].rxBytesPerSecond / txBytesPerSecond (avg, p95, max)", "network throughput per interface, two significant digits",
            "bytes per second", "/proc/net/dev"),
        p(
            .consumption, "connections[].localAddress / localPort / remoteAddress / remotePort / state / direction",
            "TCP connections, merged; ephemeral ports recorded as 0", "addresses, ports", "/proc/net/tcp, /proc/net/tcp6"),
        p(.consumption, "connections[].process", "owning process name (never its arguments)", "text", "/proc/*/fd, /proc/*/comm"),
        p(.consumption, "connections[].database", "either end is a database engine (SQL connection)", "flag", "process name or well-known port"),
        p(
            .consumption, "connections[].firstSeen / lastSeen / count; connectionSnapshots", "when and how often a connection was seen",
            "seconds since 1970 UTC, counts", "snapshots every 5 minutes"),
    ]

    /// What is never collected, stated as plainly as what is.
    public static let neverCollected = [
        "user names, user ids, home directories, logged-in users",
        "command lines and arguments of processes (they can hold secrets)",
        "environment variables",
        "the contents of any file other than the system files listed above",
        "package maintainers' names and e-mail addresses",
        "the machine id itself (only a one-way hash of it)",
    ]

    public static func markdown() -> String {
        var out = "# Data points collected by assay-bot\n\n"
        out += "This page is generated from `Sources/AssayModel/DataPoints.swift` (`assay-bot datapoints --markdown`);\n"
        out += "a test fails if they differ. Schema version \(Schema.version).\n\n"
        for kind in [DocumentKind.inventory, .consumption] {
            out += "## \(kind.rawValue)\n\n| field | meaning | unit | source |\n| --- | --- | --- | --- |\n"
            for point in all where point.document == kind {
                out += "| `\(point.name)` | \(point.meaning) | \(point.unit) | \(point.source) |\n"
            }
            out += "\n"
        }
        out += "## Never collected\n\n" + neverCollected.map { "- \($0)\n" }.joined()
        return out
    }
}
