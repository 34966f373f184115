// Upload pipeline benchmark (bench/ingest.sh): drives a running assay-server through its real API.
//   ASSAY_BENCH_TOKEN=asu_… ingest-bench load --base URL --key tenant.asc --inventory bot.json --kind inventory|consumption
//                     --seconds 60 --concurrency 16
//   ingest-bench split --key-secret tenant.sec.asc --inventory bot.json   (in-process cost split;
//     SPLIT_DB_ONLY=1 skips the crypto timings, SPLIT_DETAIL=1 adds per-statement timings)
import AssayModel
import AssayServer
import Crypto
import Fluent
import FluentSQLiteDriver
import Foundation
import OpenPGP
import SQLKit
import Synchronization
import Vapor

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

func option(_ name: String, _ fallback: String? = nil) -> String {
    let arguments = CommandLine.arguments
    if let index = arguments.firstIndex(of: "--" + name), index + 1 < arguments.count { return arguments[index + 1] }
    guard let fallback else { fatalError("--\(name) is needed") }
    return fallback
}

func percentile(_ values: [Double], _ p: Double) -> Double {
    guard !values.isEmpty else { return 0 }
    let sorted = values.sorted()
    return sorted[min(sorted.count - 1, Int((p * Double(sorted.count)).rounded(.up)) - 1)]
}

/// Distinct documents of one kind: the bot's real inventory with another device id and host name
/// each time, or a day of 5-minute consumption buckets.
func document(kind: String, index: Int, inventory: Template) throws -> [UInt8] {
    let device = String(format: "bench-%08d", index)
    if kind == "inventory" { return inventory.with(device: device, hostname: "host-\(index)") }
    if kind == "inventory-distinct" { return inventory.with(device: device, hostname: "host-\(index)", distinctSoftware: true) }
    let start: Int64 = 1_764_374_400
    let buckets = 288
    var consumption = ConsumptionDocument(
        header: DocumentHeader(
            kind: .consumption, botVersion: "bench", collectedAt: start + 86_400,
            device: DeviceIdentity(id: device, hostname: "host-\(index)", fqdn: nil)),
        sampleSeconds: 20, bucketSeconds: 300)
    consumption.bucketStarts = (0..<buckets).map { start + Int64($0 * 300) }
    consumption.sampleCounts = Array(repeating: 15, count: buckets)
    func series() -> StatSeries {
        let avg = (0..<buckets).map { _ in Int64.random(in: 50...400) }
        return StatSeries(avg: avg, p95: avg.map { $0 + 100 }, max: avg.map { $0 + 300 })
    }
    consumption.cpu = series()
    consumption.memoryUsedBytes = series()
    consumption.memoryAvailableBytes = series()
    var disk = DiskSeries(name: "sda")
    disk.readIOPS = series()
    disk.writeIOPS = series()
    disk.readBytesPerSecond = series()
    disk.writeBytesPerSecond = series()
    consumption.disks = [disk]
    var interface = InterfaceSeries(name: "eth0")
    interface.rxBytesPerSecond = series()
    interface.txBytesPerSecond = series()
    consumption.interfaces = [interface]
    return Array(try JSONEncoder().encode(consumption))
}

struct Accepted: Decodable {
    let id: UUID
    let state: String
}

/// The bot's real inventory, with its device id and host name swapped per copy (on the bytes:
/// parsing 800 packages of JSON 20,000 times would measure the benchmark, not the service).
struct Template {
    let bytes: [UInt8]
    let deviceID: String
    let hostname: String
    let packages: Int

    init(path: String) throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let document = try JSONDecoder().decode(InventoryDocument.self, from: data)
        bytes = Array(data)
        deviceID = document.header.device.id
        hostname = document.header.device.hostname
        packages = document.software.count
    }

    /// `distinctSoftware`: one more package, named after the device, so that no two documents
    /// share a software set (the worst case for the service, which stores each set once).
    func with(device: String, hostname newName: String, distinctSoftware: Bool = false) -> [UInt8] {
        var result = Self.replacing(
            Array("\"\(hostname)\"".utf8), with: Array("\"\(newName)\"".utf8),
            in: Self.replacing(Array("\"\(deviceID)\"".utf8), with: Array("\"\(device)\"".utf8), in: bytes))
        if distinctSoftware, let software = Self.find(Array("\"software\"".utf8), in: result, from: 0) {
            // one more package, named after the device, at the head of every column
            for (column, value) in [
                ("architecture", "null"), ("installedAt", "null"), ("installedSizeKiB", "null"), ("name", "\"distinct-\(device)\""),
                ("source", "\"dpkg\""), ("vendor", "null"), ("version", "\"1\""),
            ] {
                guard let at = Self.find(Array("\"\(column)\"".utf8), in: result, from: software),
                    let open = result[at...].firstIndex(of: UInt8(ascii: "["))
                else { continue }
                result.insert(contentsOf: Array((value + ",").utf8), at: open + 1)
            }
        }
        return result
    }

    static func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int) -> Int? {
        guard haystack.count >= needle.count + start else { return nil }
        for index in start...haystack.count - needle.count where haystack[index] == needle[0] && haystack[index..<index + needle.count].elementsEqual(needle) {
            return index
        }
        return nil
    }

    static func replacing(_ needle: [UInt8], with replacement: [UInt8], in haystack: [UInt8]) -> [UInt8] {
        var result: [UInt8] = []
        result.reserveCapacity(haystack.count + 64)
        var index = 0
        while index < haystack.count {
            if haystack[index] == needle[0], index + needle.count <= haystack.count, haystack[index..<index + needle.count].elementsEqual(needle) {
                result.append(contentsOf: replacement)
                index += needle.count
            } else {
                result.append(haystack[index])
                index += 1
            }
        }
        return result
    }
}

actor Cursor {
    let limit: Int
    var position = 0
    init(limit: Int) { self.limit = limit }
    func next() -> Int? {
        guard position < limit else { return nil }
        defer { position += 1 }
        return position
    }
}

func load() async throws {
    let base = option("base")
    guard let token = ProcessInfo.processInfo.environment["ASSAY_BENCH_TOKEN"] else { fatalError("set ASSAY_BENCH_TOKEN to an upload token") }
    let kind = option("kind", "inventory")
    let seconds = Double(option("seconds", "60"))!
    let concurrency = Int(option("concurrency", "16"))!
    let certificate = try Certificate(importing: Array(try Data(contentsOf: URL(fileURLWithPath: option("key")))))
    let inventory = try Template(path: option("inventory"))
    // Encrypt ahead, so that the client's own work does not count against the service.
    let target = Int(option("documents", "\(Int(seconds) * 350)"))!
    var bodies: [[UInt8]] = []
    bodies.reserveCapacity(target)
    let prepared = Date()
    var preparation = rusage()
    for index in 0..<target { bodies.append(try MessageEncryptor.encrypt(try document(kind: kind, index: index, inventory: inventory), to: [certificate])) }
    let averageSize = bodies.reduce(0) { $0 + $1.count } / max(1, bodies.count)
    getrusage(Int32(RUSAGE_SELF.rawValue), &preparation)
    let preparationCPU =
        Double(preparation.ru_utime.tv_sec + preparation.ru_stime.tv_sec) + Double(preparation.ru_utime.tv_usec + preparation.ru_stime.tv_usec) / 1e6
    FileHandle.standardError.write(
        Data(
            "prepared \(target) \(kind) documents (\(averageSize) bytes encrypted on average) in \(String(format: "%.0f", Date().timeIntervalSince(prepared))) s\n"
                .utf8))

    guard let port = URL(string: base)?.port.flatMap({ UInt16(exactly: $0) }) else { fatalError("--base must be http://127.0.0.1:PORT") }
    let digests = bodies.map { sha256Hex($0) }
    // --rate N: open loop, upload i is due at start + i/N and its latency counts from then (a late
    // start is the service's delay too); without it, each connection sends as fast as it is answered.
    let rate = Double(option("rate", "0"))!
    let started = Date()
    let deadline = started.addingTimeInterval(seconds)
    let startNanos = DispatchTime.now().uptimeNanoseconds
    let cursor = Atomic<Int>(0)
    let retries = Atomic<Int>(0)
    let shared = bodies
    // Each thread: its own keep-alive connection, one upload at a time, until the deadline.
    let perThread: [Result<[(Double, UUID)], LoadClientError>] = onThreads(concurrency) { _ in
        do {
            let connection = try LoadConnection(port: port)
            var mine: [(Double, UUID)] = []
            while Date() < deadline {
                let index = cursor.add(1, ordering: .relaxed).oldValue
                guard index < shared.count else { break }
                var sent = DispatchTime.now().uptimeNanoseconds
                if rate > 0 {
                    let due = startNanos + UInt64(Double(index) / rate * 1e9)
                    guard due < startNanos + UInt64(seconds * 1e9) else { break }
                    if due > sent { usleep(useconds_t((due - sent) / 1000)) }
                    sent = due
                }
                var response = try connection.send(
                    method: "POST", path: "/api/v1/uploads",
                    headers: [("Authorization", "Bearer \(token)"), ("X-Content-SHA256", digests[index])], body: shared[index])
                // 503 + Retry-After: nothing was stored; a console tries again, and so does this
                // (the wait counts in the upload's latency, and the retries are reported).
                while response.status == 503 {
                    retries.add(1, ordering: .relaxed)
                    sleep(UInt32(min(5, max(1, Int(response.header("retry-after") ?? "1") ?? 1))))
                    response = try connection.send(
                        method: "POST", path: "/api/v1/uploads",
                        headers: [("Authorization", "Bearer \(token)"), ("X-Content-SHA256", digests[index])], body: shared[index])
                }
                let elapsed = Double(DispatchTime.now().uptimeNanoseconds - sent) / 1e9
                guard response.status == 202, let accepted = try? JSONDecoder().decode(Accepted.self, from: Data(response.body)) else {
                    return .failure(.malformed("upload refused (\(response.status)): \(String(decoding: response.body.prefix(200), as: UTF8.self))"))
                }
                mine.append((elapsed, accepted.id))
            }
            return .success(mine)
        } catch let error as LoadClientError {
            return .failure(error)
        } catch {
            return .failure(.malformed("\(error)"))
        }
    }
    let results = try perThread.flatMap { try $0.get() }
    let session = URLSession(configuration: .ephemeral)
    let uploadSeconds = Date().timeIntervalSince(started)
    var usage = rusage()
    getrusage(Int32(RUSAGE_SELF.rawValue), &usage)
    let clientCPU = Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6 - preparationCPU
    // End to end: until the last acknowledged upload is ingested (workers take the oldest first).
    var done = 0
    var failed = 0
    // ASSAY_BENCH_NO_WAIT=1: acknowledgements only (for a server run with ASSAY_INGEST_WORKERS=0).
    let wait = ProcessInfo.processInfo.environment["ASSAY_BENCH_NO_WAIT"] == nil
    for (_, id) in wait ? results.suffix(50) : [] {
        while true {
            var request = URLRequest(url: URL(string: base + "/api/v1/uploads/\(id)")!)
            request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
            let (data, _) = try await session.data(for: request)
            let state = try JSONDecoder().decode(Accepted.self, from: data).state
            if state == "done" {
                done += 1
                break
            }
            if state == "failed" {
                failed += 1
                break
            }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
    }
    let endToEnd = Date().timeIntervalSince(started)
    let latencies = results.map { $0.0 * 1000 }
    let mode = rate > 0 ? String(format: " (offered at %.0f/s)", rate) : ""
    print(
        String(
            format:
                "%@%@ uploads: %d acknowledged in %.1f s = %.0f/s acknowledged; ingested end to end %.0f/s (%.1f s, the last %.1f s after the last upload); ack p50 %.1f ms, p99 %.1f ms; %d bytes each; last 50 checked: %d done, %d failed; client CPU %.1f s; %d answers 503 (retried)",
            kind, mode, results.count, uploadSeconds, Double(results.count) / uploadSeconds, Double(results.count) / endToEnd, endToEnd,
            endToEnd - uploadSeconds,
            percentile(latencies, 0.5), percentile(latencies, 0.99), averageSize, done, failed, clientCPU, retries.load(ordering: .relaxed)))
}

/// Where one upload's time goes, in process: RSA (session key), AES + inflate (the rest of
/// decryption), JSON, and the database write.
func split() async throws {
    let secret = try SecretKey(importing: Array(try Data(contentsOf: URL(fileURLWithPath: option("key-secret")))))
    let inventory = try Template(path: option("inventory"))
    let rounds = 200
    let documents = try (0..<rounds).map { try document(kind: "inventory", index: $0, inventory: inventory) }
    let bodies = try documents.map { try MessageEncryptor.encrypt($0, to: [secret.certificate]) }
    let emptyBody = try MessageEncryptor.encrypt([UInt8](), to: [secret.certificate], compression: .uncompressed)
    func time(_ body: () throws -> Void) rethrows -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6 / Double(rounds)
    }
    let dbOnly = ProcessInfo.processInfo.environment["SPLIT_DB_ONLY"] != nil
    let rsa = dbOnly ? 0 : try time { for _ in 0..<rounds { _ = try MessageDecryptor.decrypt(emptyBody, with: [secret]) } }
    let decrypt = dbOnly ? 0 : try time { for body in bodies { _ = try MessageDecryptor.decrypt(body, with: [secret]) } }
    let json = try time { for document in documents { _ = try DocumentPreparation.decode(document) } }
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ingest-split-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let app = try await Application.make(.testing)
    app.logger.logLevel = .warning
    app.databases.use(.sqlite(.file(directory.appendingPathComponent("tenant.sqlite").path), sqlLogLevel: .trace), as: .sqlite)
    try await TenantSchema.migrate(app.db, logger: app.logger)
    // In batches of 16 in one transaction, as the workers write them.
    let start = DispatchTime.now().uptimeNanoseconds
    for batch in stride(from: 0, to: rounds, by: 16).map({ documents[$0..<min($0 + 16, rounds)] }) {
        _ = try await TenantWriter.ingest(try batch.map { try DocumentPreparation.prepare($0, uploadID: UUID(), receivedAt: Date()) }, into: app.db)
    }
    let database = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6 / Double(rounds) - json
    if ProcessInfo.processInfo.environment["SPLIT_DETAIL"] != nil {
        let sql = app.db as! any SQLDatabase
        let text = String(decoding: documents[0], as: UTF8.self)
        func timed(_ label: String, _ body: (Int) async throws -> Void) async throws {
            let start = DispatchTime.now().uptimeNanoseconds
            for batch in 0..<rounds / 16 {
                try await sql.raw("BEGIN").run()
                for index in 0..<16 { try await body(batch * 16 + index) }
                try await sql.raw("COMMIT").run()
            }
            print(label, String(format: "%.3f ms", Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6 / Double(rounds)))
        }
        try await timed("empty select") { _ in _ = try await sql.raw("SELECT 1").all() }
        try await timed("snapshot 100 KB") { i in
            try await sql.raw(
                "INSERT INTO inventory_snapshots (upload_id, device_id, collected_at, software_count, document) VALUES (\(bind: "x\(i)"), 'd', 1, 1, \(bind: text))"
            ).run()
        }
        try await timed("snapshot empty") { i in
            try await sql.raw(
                "INSERT INTO inventory_snapshots (upload_id, device_id, collected_at, software_count, document) VALUES (\(bind: "y\(i)"), 'd', 1, 1, '')"
            ).run()
        }
        let decoded = try DocumentPreparation.decode(documents[0]).1 as! InventoryDocument
        try await timed("software json_each") { i in
            try await sql.raw("DELETE FROM software WHERE device_id = \(bind: "z\(i)")").run()
            var rows: [String] = []
            for index in 0..<decoded.software.count {
                rows.append(
                    "[\"\(decoded.software.name[index])\",\"\(decoded.software.version[index])\",\"\(decoded.software.architecture[index] ?? "")\",\"dpkg\",null]"
                )
            }
            let json = "[" + rows.joined(separator: ",") + "]"
            try await sql.raw(
                "INSERT INTO software (device_id, name, version, architecture, source, vendor) SELECT \(bind: "z\(i)"), value->>0, value->>1, value->>2, value->>3, value->>4 FROM json_each(\(bind: json)) WHERE true ON CONFLICT DO NOTHING"
            ).run()
        }
    }
    try await app.asyncShutdown()
    print(
        String(
            format:
                "cost split per inventory upload (%d packages, in process): RSA %.2f ms, AES + inflate %.2f ms, JSON %.2f ms, SQLite write %.2f ms (batches of 16)",
            inventory.packages,
            rsa, decrypt - rsa, json, database))
}

switch CommandLine.arguments.dropFirst().first {
case "load": try await load()
case "split": try await split()
default: print("usage: ingest-bench load|split …")
}
