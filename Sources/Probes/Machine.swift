import AssayModel
import Crypto

#if canImport(Glibc)
    import Glibc
#endif

/// Host name, FQDN, device id, kernel, boot time, time zone, virtualization.
public enum MachineProbe {
    /// A stable id that names nobody: SHA-256 over a fixed label and /etc/machine-id (or the DMI
    /// product UUID), shown as a UUID. The machine-id itself never leaves the machine.
    public static func deviceID(_ source: SystemSource, warnings: WarningLog) -> String {
        let candidates = ["/etc/machine-id", "/var/lib/dbus/machine-id", "/sys/class/dmi/id/product_uuid"]
        guard let raw = candidates.lazy.compactMap({ source.value($0) }).first(where: { $0.count >= 16 }) else {
            warnings.add("device-id", "no machine-id or product UUID; the id falls back to the host name")
            return formatUUID(Array(SHA256.hash(data: Array(("assay-device-id:hostname:" + hostname(source)).utf8))))
        }
        return formatUUID(Array(SHA256.hash(data: Array(("assay-device-id:" + raw.lowercased()).utf8))))
    }

    static func formatUUID(_ digest: [UInt8]) -> String {
        var bytes = Array(digest.prefix(16))
        bytes[6] = (bytes[6] & 0x0F) | 0x50  // version 5-style: name-based
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        let hex = bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
        let characters = Array(hex)
        return [0..<8, 8..<12, 12..<16, 16..<20, 20..<32].map { String(characters[$0]) }.joined(separator: "-")
    }

    /// The identity every document carries: hashed machine id, host name, FQDN.
    public static func deviceIdentity(_ source: SystemSource, warnings: WarningLog) -> DeviceIdentity {
        let hostname = hostname(source)
        return DeviceIdentity(id: deviceID(source, warnings: warnings), hostname: hostname, fqdn: fqdn(source, hostname: hostname))
    }

    public static func hostname(_ source: SystemSource) -> String {
        source.value("/proc/sys/kernel/hostname") ?? source.value("/etc/hostname") ?? "localhost"
    }

    /// From /etc/hosts (the canonical name on the line that lists the host name), else the host
    /// name with the resolver's search domain. No DNS query: a scan must not hang on a resolver.
    public static func fqdn(_ source: SystemSource, hostname: String) -> String? {
        if hostname.contains(".") { return hostname }
        for line in (source.text("/etc/hosts") ?? "").split(separator: "\n").prefix(10_000) {
            let fields = line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)[0]
                .split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard fields.count >= 2, fields.dropFirst().contains(hostname) else { continue }
            if let canonical = fields.dropFirst().first(where: { $0.hasPrefix(hostname + ".") }) { return canonical }
        }
        for line in (source.text("/etc/resolv.conf") ?? "").split(separator: "\n") {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            if fields.count >= 2, fields[0] == "domain" || fields[0] == "search" { return "\(hostname).\(fields[1])" }
        }
        return nil
    }

    public static func kernel(_ source: SystemSource) -> (release: String?, version: String?, architecture: String) {
        var names = utsname()
        var machine = "unknown"
        if uname(&names) == 0 {
            machine = withUnsafeBytes(of: names.machine) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
        }
        return (source.value("/proc/sys/kernel/osrelease"), source.value("/proc/sys/kernel/version"), machine)
    }

    public static func bootTime(_ source: SystemSource) -> Int64? {
        for line in (source.text("/proc/stat") ?? "").split(separator: "\n") where line.hasPrefix("btime ") {
            return Int64(line.dropFirst(6).trimmed)
        }
        return nil
    }

    public static func timeZone(_ source: SystemSource) -> String? {
        if let zone = source.value("/etc/timezone") { return zone }
        // No String.range(of:) without Foundation: split on the marker instead.
        if let link = source.readLink("/etc/localtime") {
            let parts = link.split(separator: "zoneinfo/", maxSplits: 1, omittingEmptySubsequences: false)
            if parts.count == 2, !parts[1].isEmpty { return String(parts[1]) }
        }
        return nil
    }

    // MARK: virtualization (the systemd-detect-virt checks that need no privileges)

    public static func virtualization(_ source: SystemSource) -> Virtualization {
        let vendor = source.value("/sys/class/dmi/id/sys_vendor")
        let product = source.value("/sys/class/dmi/id/product_name")
        let biosVendor = source.value("/sys/class/dmi/id/bios_vendor")
        let assetTag = source.value("/sys/class/dmi/id/chassis_asset_tag")
        let dmi = [vendor, product, biosVendor].compactMap { $0 }.joined(separator: " ")

        var machine = "none"
        let known: [(String, String)] = [
            ("KVM", "kvm"), ("Amazon EC2", "amazon"), ("QEMU", "qemu"), ("VMware", "vmware"), ("VMW", "vmware"),
            ("innotek GmbH", "oracle"), ("VirtualBox", "oracle"), ("Xen", "xen"), ("Bochs", "bochs"), ("Parallels", "parallels"),
            ("BHYVE", "bhyve"), ("Google", "kvm"), ("OpenStack", "kvm"), ("Microsoft Corporation", "microsoft"),
        ]
        if let match = known.first(where: { dmi.contains($0.0) }) {
            machine = match.1
        } else if let hypervisor = source.value("/sys/hypervisor/type") {
            machine = hypervisor
        } else if (source.text("/proc/cpuinfo", limit: 1 << 20) ?? "").contains(" hypervisor") {
            machine = "vm-other"
        }
        return Virtualization(
            machine: machine, container: container(source), cloud: cloud(vendor: vendor, product: product, assetTag: assetTag, bios: biosVendor),
            systemVendor: vendor, productName: product)
    }

    static func container(_ source: SystemSource) -> String? {
        if let declared = source.value("/run/systemd/container") { return declared }
        if source.exists("/.dockerenv") { return "docker" }
        if source.exists("/run/.containerenv") { return "podman" }
        let cgroup = source.text("/proc/1/cgroup", limit: 64 * 1024) ?? ""
        if cgroup.contains("kubepods") { return "kubernetes" }
        if cgroup.contains("docker") { return "docker" }
        if cgroup.contains("lxc") { return "lxc" }
        if cgroup.contains("containerd") { return "containerd" }
        return nil
    }

    static func cloud(vendor: String?, product: String?, assetTag: String?, bios: String?) -> String? {
        let all = [vendor, product, assetTag, bios].compactMap { $0 }.joined(separator: " ")
        if all.contains("Amazon EC2") || (bios ?? "").contains("Amazon") { return "aws" }
        if assetTag == "7783-7084-3265-9085-8269-3286-77" { return "azure" }
        if all.contains("Google Compute Engine") || all.contains("Google") { return "gcp" }
        if all.contains("OracleCloud") { return "oracle" }
        if all.contains("Hetzner") { return "hetzner" }
        if all.contains("DigitalOcean") { return "digitalocean" }
        if all.contains("OpenStack") { return "openstack" }
        return nil
    }
}
