import AssayModel
import Foundation
import OpenPGP
import Testing

@testable import Probes

@Suite("Sampler")
struct SamplerTests {
    @Test("aggregates: average, nearest-rank p95 and maximum")
    func aggregates() {
        var window = MetricWindow()
        for value in 1...100 { window.add(Int64(value)) }
        let summary = window.summary()
        #expect(summary.avg == 51 && summary.p95 == 95 && summary.max == 100)
        var single = MetricWindow()
        single.add(7)
        #expect(single.summary() == (7, 7, 7))
    }

    @Test("bad configurations are refused, 90 days is the most")
    func configuration() {
        var configuration = SamplerConfiguration()
        configuration.durationSeconds = 91 * 86_400
        #expect(throws: SamplerError.invalid("--duration may not exceed 90 days (COL-2)")) { try configuration.validate() }
        configuration.durationSeconds = 90 * 86_400
        #expect(throws: Never.self) { try configuration.validate() }
        configuration.bucketSeconds = 70
        #expect(throws: SamplerError.invalid("--bucket must be a multiple of --interval")) { try configuration.validate() }
    }

    @Test("one core kept busy shows up as about half of two cores", .timeLimit(.minutes(1)))
    func syntheticLoad() throws {
        // given: a process burning one CPU
        let burner = Process()
        burner.executableURL = URL(fileURLWithPath: "/bin/sh")
        burner.arguments = ["-c", "while :; do :; done"]
        try burner.run()
        // SIGKILL: the test runner's children may inherit a blocked SIGTERM.
        defer {
            kill(burner.processIdentifier, SIGKILL)
            burner.waitUntilExit()
        }
        var configuration = SamplerConfiguration()
        configuration.sampleSeconds = 1
        configuration.bucketSeconds = 5
        configuration.durationSeconds = 5
        configuration.fileEverySeconds = 5
        let header = DocumentHeader(kind: .consumption, botVersion: "test", collectedAt: 0, device: DeviceIdentity(id: "d", hostname: "h", fqdn: nil))

        // when
        var documents: [ConsumptionDocument] = []
        try Sampler(configuration: configuration, header: header).run(shouldStop: { false }) { documents.append($0) }

        // then
        let document = try #require(documents.first)
        #expect(documents.count == 1)
        #expect(document.sampleCounts == [5])
        #expect(document.bucketStarts.count == 1)
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let expected = 1000 / Int64(cores)  // tenths of a percent
        #expect(document.cpu.avg[0] >= expected * 8 / 10, "avg \(document.cpu.avg[0]) for one busy core of \(cores)")
        #expect(document.cpu.max[0] >= document.cpu.p95[0] && document.cpu.p95[0] >= document.cpu.avg[0] - 1)
        #expect(document.cpu.max[0] <= 1000)
        #expect(document.memoryUsedBytes.avg[0] > 0 && document.memoryAvailableBytes.avg[0] > 0)
        #expect(!document.filesystems.isEmpty && document.filesystems[0].usedBytes.count == 1)
        #expect(document.connectionSnapshots == 1)
    }
}

@Suite("assay-bot (the binary)")
struct BotBinaryTests {
    static var botPath: String { Bundle.main.bundleURL.appendingPathComponent("assay-bot").path }

    @Test("SIGTERM mid-period leaves a complete, decryptable file and no plaintext anywhere", .timeLimit(.minutes(1)))
    func sigtermFlushes() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("assay-bot-\(UUID().uuidString)")
        let spool = directory.appendingPathComponent("spool")
        try FileManager.default.createDirectory(at: spool, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let key = try SecretKey.generate(userID: "Tenant <t@assay.invalid>", size: .bits2048)
        let publicKey = directory.appendingPathComponent("tenant.asc")
        try key.certificate.armored.write(to: publicKey, atomically: true, encoding: .utf8)

        let bot = Process()
        bot.executableURL = URL(fileURLWithPath: Self.botPath)
        bot.arguments = [
            "sample", "--recipient", publicKey.path, "--out-dir", spool.path, "--interval", "1s", "--bucket", "2s", "--duration", "1h", "--file-every", "1h",
        ]
        try bot.run()
        Thread.sleep(forTimeInterval: 3.6)
        bot.terminate()  // SIGTERM
        bot.waitUntilExit()
        #expect(bot.terminationReason == .exit && bot.terminationStatus == 0)

        let files = try FileManager.default.contentsOfDirectory(atPath: spool.path)
        #expect(files.count == 1, "\(files)")
        let file = try #require(files.first)
        #expect(file.hasPrefix("consumption-") && file.hasSuffix(".pgp"))
        let bytes = Array(try Data(contentsOf: spool.appendingPathComponent(file)))
        #expect(bytes.first.map { $0 & 0x80 != 0 } == true)  // an OpenPGP packet, not JSON
        #expect(!bytes.contains(UInt8(ascii: "{")) || (try? JSONSerialization.jsonObject(with: Data(bytes))) == nil)
        let opened = try MessageDecryptor.decrypt(bytes, with: [key])
        let document = try JSONDecoder().decode(ConsumptionDocument.self, from: Data(opened.data))
        #expect(document.header.schema == Schema.version)
        #expect(document.header.kind == .consumption)
        #expect(document.bucketStarts.count >= 1)
        #expect(document.sampleCounts.reduce(0, +) >= 2)
        #expect(document.connectionSnapshots >= 1)
        let permissions = try FileManager.default.attributesOfItem(atPath: spool.appendingPathComponent(file).path)[.posixPermissions] as? Int
        #expect(permissions == 0o600)
    }

    @Test("inventory: dry run is JSON; with a recipient the file is an OpenPGP message of the same document")
    func inventory() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("assay-bot-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let key = try SecretKey.generate(userID: "Tenant <t@assay.invalid>", size: .bits2048)
        let publicKey = directory.appendingPathComponent("tenant.asc")
        try key.certificate.armored.write(to: publicKey, atomically: true, encoding: .utf8)

        let dryRun = try runBot(["inventory"])
        #expect(dryRun.status == 0)
        let plain = try JSONDecoder().decode(InventoryDocument.self, from: Data(dryRun.stdout.utf8))
        #expect(plain.header.kind == .inventory)

        let out = directory.appendingPathComponent("inventory.pgp")
        let encrypted = try runBot(["inventory", "--recipient", publicKey.path, "--out", out.path])
        #expect(encrypted.status == 0 && encrypted.stdout.isEmpty)
        let opened = try MessageDecryptor.decrypt(Array(try Data(contentsOf: out)), with: [key])
        let document = try JSONDecoder().decode(InventoryDocument.self, from: Data(opened.data))
        #expect(document.software.count == plain.software.count)
        #expect(document.header.device == plain.header.device)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted() == ["inventory.pgp", "tenant.asc"])
    }

    @Test(
        "an unprivileged run works, with less detail and a warning saying why",
        .enabled(if: getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/sbin/runuser")))
    func unprivileged() throws {
        // A copy in a world-readable place: the checkout itself may not be readable by nobody.
        let directory = URL(fileURLWithPath: "/tmp/assay-bot-nobody-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        defer { try? FileManager.default.removeItem(at: directory) }
        let copy = directory.appendingPathComponent("assay-bot")
        try FileManager.default.copyItem(atPath: Self.botPath, toPath: copy.path)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: copy.path)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/sbin/runuser")
        process.arguments = ["-u", "nobody", "--", copy.path, "inventory"]
        process.currentDirectoryURL = URL(fileURLWithPath: "/")
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let document = try JSONDecoder().decode(InventoryDocument.self, from: data)
        #expect(document.software.count > 0)
        #expect(document.warnings.contains { $0.probe == "processes" && $0.message.contains("not visible without root") })
    }

    @Test("bad arguments: clear messages and non-zero exits")
    func badArguments() throws {
        let cases: [([String], String)] = [
            (["sample", "--recipient", "/nonexistent", "--out-dir", "/tmp", "--duration", "91d"], "--duration may not exceed 90 days"),
            (["sample", "--recipient", "/nonexistent", "--out-dir", "/tmp", "--interval", "abc"], "\"abc\" is not a duration"),
            (["sample", "--recipient", "/nonexistent", "--out-dir", "/tmp"], "cannot read the recipient key /nonexistent"),
            (["inventory", "--out", "/tmp/x.json"], "--out needs --recipient"),
            (["sample", "--recipient", "/nonexistent", "--out-dir", "/tmp", "--max-spool", "lots"], "\"lots\" is not a size"),
        ]
        for (arguments, message) in cases {
            let result = try runBot(arguments)
            #expect(result.status != 0, "\(arguments)")
            #expect(result.stderr.contains(message), "\(arguments): \(result.stderr)")
        }
        #expect(try runBot(["version"]).stdout.contains("schema \(Schema.version)"))
    }

    @Test("docs/data-points.md is exactly what `assay-bot datapoints --markdown` prints")
    func dataPointsDocument() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let published = try String(contentsOf: root.appendingPathComponent("docs/data-points.md"), encoding: .utf8)
        #expect(try runBot(["datapoints", "--markdown"]).stdout == published)
        #expect(published == DataPoints.markdown())
    }

    func runBot(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.botPath)
        process.arguments = arguments
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self))
    }
}

@Suite("Compact wire format")
struct WireFormatTests {
    @Test("rates keep two significant digits, memory keeps MiB, CPU stays exact")
    func precision() {
        #expect(Precision.twoSignificantDigits.apply(12_345_678) == 12_000_000)
        #expect(Precision.twoSignificantDigits.apply(99) == 99)
        #expect(Precision.twoSignificantDigits.apply(155) == 160)
        #expect(Precision.twoSignificantDigits.apply(0) == 0)
        #expect(Precision.mebibytes.apply(3 * 1_048_576 + 600_000) == 4 * 1_048_576)
        #expect(Precision.exact.apply(123_456) == 123_456)
    }

    @Test("software columns round-trip to rows, sorted by name; mismatched columns are refused")
    func softwareColumns() {
        let rows = [
            SoftwarePackage(
                name: "zlib1g", version: "1.2.13", architecture: "amd64", source: .dpkg, vendor: "Debian", installedSizeBytes: 2048, installedAt: 5),
            SoftwarePackage(name: "bash", version: "5.2", architecture: nil, source: .rpm, vendor: nil, installedSizeBytes: nil, installedAt: nil),
        ]
        var columns = SoftwareInventory(rows)
        #expect(columns.name == ["bash", "zlib1g"])
        #expect(columns.packages == [rows[1], rows[0]])
        columns.version.removeLast()
        #expect(columns.packages == nil)
    }
}
