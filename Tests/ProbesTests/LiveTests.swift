import AssayModel
import Foundation
import Testing

@testable import Probes

/// Real values on the machine running the tests.
@Suite("Live probes on this machine")
struct LiveProbeTests {
    @Test("the dpkg package count equals dpkg-query -W", .enabled(if: FileManager.default.fileExists(atPath: "/var/lib/dpkg/status")))
    func dpkgCount() throws {
        let packages = try #require(DpkgStatusParser.probe(.live, vendor: nil, warnings: WarningLog()))
        let output = try runCommand("/usr/bin/dpkg-query", ["-W", "-f", "${db:Status-Abbrev}${Package}\\n"])
        let installed = output.split(separator: "\n").filter { $0.hasPrefix("ii") || $0.hasPrefix("hi") }
        #expect(packages.count == installed.count)
        #expect(packages.contains { $0.name == "dpkg" && $0.installedAt != nil })
    }

    @Test("memory total matches /proc/meminfo, CPU threads match the online CPUs")
    func memoryAndCPU() throws {
        let memory = MemInfoParser.probe(.live, warnings: WarningLog())
        let meminfo = try String(contentsOfFile: "/proc/meminfo", encoding: .utf8)
        let line = try #require(meminfo.split(separator: "\n").first { $0.hasPrefix("MemTotal:") })
        let kilobytes = try #require(Int64(line.split(separator: " ")[1]))
        #expect(memory.totalBytes == kilobytes * 1024)
        #expect(CPUInfoParser.probe(.live, warnings: WarningLog()).threads == ProcessInfo.processInfo.activeProcessorCount)
    }

    @Test("a socket the test opens appears with the test's own process, listening and connected")
    func ownSocket() throws {
        // given: a listening socket and a connection to it, held by this process
        let server = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(server) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(server, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        #expect(bound == 0)
        #expect(listen(server, 4) == 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(server, $0, &length) } }
        let port = Int(UInt16(bigEndian: address.sin_port))
        let client = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(client) }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(client, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        #expect(connected == 0)
        let accepted = accept(server, nil, nil)
        defer { close(accepted) }
        let ownName = try String(contentsOfFile: "/proc/self/comm", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)

        // when
        let processes = ProcessTable.read(.live)
        let sockets = ProcNetParser.read(.live, warnings: WarningLog())
        let listening = ListeningPortProbe.listening(sockets, processes: processes)
        let collector = ConnectionCollector()
        collector.snapshot(now: 1)
        collector.snapshot(now: 2)

        // then
        let mine = try #require(listening.first { $0.port == port })
        #expect(mine.process == ownName)
        #expect(mine.address == "127.0.0.1")
        let inbound = try #require(collector.connections.first { $0.direction == .inbound && $0.localPort == port })
        #expect(inbound.process == ownName && inbound.remotePort == 0 && inbound.count == 2 && inbound.firstSeen == 1 && inbound.lastSeen == 2)
        let outbound = try #require(collector.connections.first { $0.direction == .outbound && $0.remotePort == port })
        #expect(outbound.process == ownName && outbound.localPort == 0 && outbound.state == "ESTABLISHED")
    }

    @Test("a full live inventory scan has the essentials and no plaintext secrets of the environment")
    func fullScan() throws {
        setenv("ASSAY_TEST_SECRET", "env-secret-value-4242", 1)
        let document = InventoryScanner(botVersion: "test").scan(now: 1)
        #expect(!document.header.device.hostname.isEmpty)
        #expect(document.header.device.id.count == 36)
        #expect(document.system.os.id != nil)
        #expect(document.cpu.threads > 0)
        #expect(!document.filesystems.isEmpty)
        #expect(document.system.bootTime != nil)
        let json = String(decoding: try JSONEncoder().encode(document), as: UTF8.self)
        #expect(!json.contains("env-secret-value-4242"))
        let machineID = ((try? String(contentsOfFile: "/etc/machine-id", encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        if !machineID.isEmpty { #expect(!json.contains(machineID)) }
    }
}

func runCommand(_ path: String, _ arguments: [String]) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return String(decoding: data, as: UTF8.self)
}
