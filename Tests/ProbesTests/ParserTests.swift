import AssayModel
import Foundation
import Testing

@testable import Probes

func fixture(_ name: String) throws -> String {
    let url = try #require(Bundle.module.url(forResource: "Fixtures", withExtension: nil)).appendingPathComponent(name)
    return try String(contentsOf: url, encoding: .utf8)
}

func fixturePath(_ name: String) throws -> String {
    try #require(Bundle.module.url(forResource: "Fixtures", withExtension: nil)).appendingPathComponent(name).path
}

@Suite("Parsers against fixture files")
struct ParserTests {
    @Test("dpkg status: installed packages only, odd entries become warnings")
    func dpkg() throws {
        let warnings = WarningLog()
        let packages = DpkgStatusParser.parse(try fixture("dpkg-status"), vendor: "Debian GNU/Linux", warnings: warnings)
        #expect(packages.map(\.name) == ["libc6", "openssl", "libssl3", "postgresql-15"])
        let libc = try #require(packages.first)
        #expect(libc.version == "2.36-9+deb12u8")
        #expect(libc.architecture == "amd64")
        #expect(libc.installedSizeBytes == Int64(12988 * 1024))
        #expect(libc.vendor == "Debian GNU/Linux")
        #expect(packages[1].vendor == "Debian")  // Origin wins
        #expect(packages[2].installedSizeBytes == nil)  // "not-a-number"
        #expect(warnings.warnings.map(\.message).contains("package no-version has no version"))
        #expect(warnings.warnings.contains { $0.message.contains("malformed lines") })
        // The maintainer (a person) is never collected.
        #expect(!packages.contains { ($0.vendor ?? "").contains("@") })
    }

    @Test("rpm query output, with (none) fields and a broken line")
    func rpm() throws {
        let warnings = WarningLog()
        let packages = RpmParser.parse(try fixture("rpm-qa.txt"), warnings: warnings)
        #expect(packages.map(\.name) == ["bash", "openssl-libs", "gpg-pubkey", "nginx"])
        #expect(packages[0].version == "5.1.8-9.el9")
        #expect(packages[0].vendor == "Red Hat, Inc.")
        #expect(packages[0].installedAt == 1_700_000_000)
        #expect(packages[2].architecture == nil && packages[2].vendor == nil)
        #expect(warnings.warnings.count == 1)
    }

    @Test("apk database")
    func apk() throws {
        let warnings = WarningLog()
        let packages = ApkParser.parse(try fixture("apk-installed"), warnings: warnings)
        #expect(packages.map(\.name) == ["musl", "busybox"])
        #expect(packages[0].installedSizeBytes == 622_592)
        #expect(packages[0].vendor == "origin:musl")
        #expect(warnings.warnings.count == 1)
    }

    @Test("os-release variants, quoting and escapes")
    func osRelease() throws {
        let debian = OSReleaseParser.operatingSystem(from: OSReleaseParser.parse(try fixture("os-release/debian12")))
        #expect(debian.id == "debian" && debian.versionID == "12" && debian.prettyName == "Debian GNU/Linux 12 (bookworm)")
        let rhel = OSReleaseParser.operatingSystem(from: OSReleaseParser.parse(try fixture("os-release/rhel9")))
        #expect(rhel.id == "rhel" && rhel.idLike == ["fedora"] && rhel.versionID == "9.4")
        let alpine = OSReleaseParser.operatingSystem(from: OSReleaseParser.parse(try fixture("os-release/alpine")))
        #expect(alpine.id == "alpine" && alpine.versionID == "3.19.1")
        let ubuntu = OSReleaseParser.operatingSystem(from: OSReleaseParser.parse(try fixture("os-release/ubuntu-escaped")))
        #expect(ubuntu.version == "22.04.4 LTS (Jammy \"Jellyfish\")")
        #expect(ubuntu.prettyName == "Ubuntu 22.04.4 LTS")
        #expect(ubuntu.idLike == ["debian"])
    }

    @Test("/proc/net/tcp and tcp6: addresses, ports, states; bad lines counted")
    func procNet() throws {
        var malformed = 0
        let v4 = ProcNetParser.parse(try fixture("proc-net-tcp"), transport: "tcp", ipv6: false, malformed: &malformed)
        #expect(malformed == 1)
        #expect(v4.count == 3)
        #expect(v4[0].localAddress == "127.0.0.1" && v4[0].localPort == 5432 && v4[0].state == "LISTEN" && v4[0].inode == 21843)
        #expect(v4[1].localAddress == "10.0.0.2" && v4[1].localPort == 22 && v4[1].remoteAddress == "10.0.0.1" && v4[1].remotePort == 54321)
        #expect(v4[1].state == "ESTABLISHED")
        let v6 = ProcNetParser.parse(try fixture("proc-net-tcp6"), transport: "tcp6", ipv6: true, malformed: &malformed)
        #expect(v6[0].localAddress == "::" && v6[0].localPort == 80 && v6[0].state == "LISTEN")
        #expect(v6[1].localAddress == "::ffff:127.0.0.1" && v6[1].localPort == 8080 && v6[1].remotePort == 50000)
        #expect(v6[2].localAddress == "2001:db8::1" && v6[2].localPort == 443 && v6[2].remoteAddress == "::1" && v6[2].state == "TIME_WAIT")
    }

    @Test("IPv6 text form follows RFC 5952")
    func ipv6Format() {
        #expect(IPAddressFormat.ipv6([UInt8](repeating: 0, count: 16)) == "::")
        #expect(IPAddressFormat.ipv6([0x20, 0x01, 0x0d, 0xb8] + [UInt8](repeating: 0, count: 11) + [1]) == "2001:db8::1")
        #expect(IPAddressFormat.ipv6([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1]) == "2001:db8:0:1::1")
        #expect(IPAddressFormat.ipv6([0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0xfc, 0, 0xff, 0xfe, 0, 0, 1]) == "fe80::fc:ff:fe00:1")
    }

    @Test("diskstats, net/dev, /proc/stat counters")
    func counters() throws {
        let disks = CounterReader.parseDiskstats(try fixture("diskstats"), include: ["vda", "nvme0n1"].contains)
        #expect(disks.keys.sorted() == ["nvme0n1", "vda"])
        #expect(disks["vda"] == .init(reads: 120_536, sectorsRead: 9_052_742, writes: 466_820, sectorsWritten: 17_584_624))
        let interfaces = CounterReader.parseNetDev(try fixture("net-dev"))
        #expect(interfaces.count == 1)
        #expect(interfaces["eth0"]?.rx == 987_654_321 && interfaces["eth0"]?.tx == 123_456_789)
        let cpu = try #require(CounterReader.parseCPU("cpu  100 0 50 800 10 0 5 0 0 0\ncpu0 1 2 3 4\n"))
        #expect(cpu.total == 965 && cpu.busy == 155)
    }

    @Test("mountinfo: data file systems only, escapes decoded, duplicates dropped")
    func mountinfo() throws {
        let mounts = MountInfoParser.parse(try fixture("mountinfo"))
        #expect(mounts.map(\.mountPoint) == ["/", "/srv/my data", "/mnt/nfs"])
        #expect(mounts.map(\.type) == ["ext4", "xfs", "nfs4"])
        #expect(mounts[2].device == "server:/export")
    }

    @Test("cpuinfo with two sockets")
    func cpuinfo() throws {
        let cpu = CPUInfoParser.parse(try fixture("cpuinfo-2-sockets"))
        #expect(cpu.model == "Intel(R) Xeon(R) Gold 6230 CPU @ 2.10GHz")
        #expect(cpu.sockets == 2 && cpu.cores == 3 && cpu.threads == 4)
        #expect(cpu.mhz == 2150)
    }

    @Test("routes and resolvers")
    func routes() {
        let routes =
            "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\neth0\t00000000\t0100000A\t0003\t0\t0\t0\t00000000\t0\t0\t0\neth0\t0000000A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"
        #expect(NetworkProbe.parseIPv4Routes(routes) == ["10.0.0.1"])
        #expect(NetworkProbe.parseResolvConf("# c\nnameserver 1.1.1.1\nnameserver  fd00::53 \nsearch x\n") == ["1.1.1.1", "fd00::53"])
    }

    @Test("products: package patterns")
    func productPatterns() {
        #expect(ProductDetector.matches("postgresql-15", pattern: "postgresql-*"))
        #expect(ProductDetector.matches("postgresql-9.6", pattern: "postgresql-*"))
        #expect(!ProductDetector.matches("postgresql-15-postgis-3", pattern: "postgresql-*"))
        #expect(ProductDetector.matches("postgresql16-server", pattern: "postgresql*-server"))
        #expect(!ProductDetector.matches("postgresql-client", pattern: "postgresql-*"))
    }
}

@Suite("Malformed input gives warnings, not crashes")
struct MalformedInputTests {
    @Test("binary garbage, truncation and huge lines through every parser")
    func garbage() throws {
        let garbage = try String(decoding: Data(contentsOf: URL(fileURLWithPath: fixturePath("garbage.bin"))), as: UTF8.self)
        let huge = String(repeating: "x", count: 5_000_000) + "\n" + String(repeating: ":", count: 1_000_000)
        let status = try fixture("dpkg-status")
        let truncated = String(status.prefix(status.count / 2 + 7))
        var malformed = 0
        for text in [garbage, huge, truncated, "", "\n\n\n"] {
            let warnings = WarningLog()
            _ = DpkgStatusParser.parse(text, vendor: nil, warnings: warnings)
            _ = RpmParser.parse(text, warnings: warnings)
            _ = ApkParser.parse(text, warnings: warnings)
            _ = OSReleaseParser.parse(text)
            _ = CPUInfoParser.parse(text)
            _ = MemInfoParser.parse(text)
            _ = MountInfoParser.parse(text)
            _ = ProcNetParser.parse(text, transport: "tcp", ipv6: false, malformed: &malformed)
            _ = ProcNetParser.parse(text, transport: "tcp6", ipv6: true, malformed: &malformed)
            _ = CounterReader.parseDiskstats(text, include: { _ in true })
            _ = CounterReader.parseNetDev(text)
            _ = CounterReader.parseCPU(text)
            _ = ServiceProbe.parseSystemctl(text)
            _ = NetworkProbe.parseIPv4Routes(text)
            _ = NetworkProbe.parseIPv6Routes(text)
            #expect(warnings.warnings.count <= 200)
        }
        let truncatedPackages = DpkgStatusParser.parse(truncated, vendor: nil, warnings: WarningLog())
        #expect(truncatedPackages.count >= 1)
    }

    @Test("a whole scan of a container's root directory works from fixtures alone")
    func containerRoot() throws {
        let scanner = InventoryScanner(source: .fixture(try fixturePath("container-root")), botVersion: "test")
        let document = scanner.scan(now: 1_700_000_000)
        #expect(document.header.device.hostname == "web-7d9f")
        #expect(document.header.device.fqdn == "web-7d9f.corp.example")
        #expect(document.header.device.id.count == 36)
        #expect(!document.header.device.id.contains("0123456789abcdef"))  // the machine-id is hashed
        #expect(document.system.os.id == "alpine")
        #expect(document.system.virtualization.container == "docker")
        #expect(document.system.bootTime == 1_700_000_000)
        #expect(document.cpu.sockets == 2)
        #expect(document.memory.totalBytes == 2_048_000 * 1024)
        #expect(document.software.name == ["busybox", "musl"])
        #expect(document.software.packages?.first { $0.name == "musl" }?.installedSizeBytes == 622_592)
        #expect(document.network.dnsServers == ["10.0.0.2"])
        let http = try #require(document.listeningPorts.first { $0.port == 80 })
        #expect(http.process == "nginx")
        #expect(document.webServers.first?.product == "nginx")
        #expect(document.webServers.first?.ports == [80])
        #expect(document.warnings.contains { $0.probe == "software" } == false)
    }
}
