import AssayModel
import Fluent
import Foundation
import OpenPGP
import SQLKit
import Testing
import Vapor
import VaporTesting

@testable import AssayServer

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The real `assay-server` binary on its own data directory and port, killed and restarted at will.
final class ServerProcess: @unchecked Sendable {
    let binary = repositoryRoot.appendingPathComponent(".build/debug/assay-server")
    let directory: URL
    let port: Int
    /// Settings on top of the defaults below (a PostgreSQL catalog for replicas, say).
    let extraEnvironment: [String: String]
    private var process: Process?
    private let lock = NSLock()

    init(environment extra: [String: String] = [:]) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("assay-durability-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        port = try freePort()
        extraEnvironment = extra
    }

    var environment: [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment["ASSAY_DATA_DIR"] = directory.appendingPathComponent("data").path
        environment["ASSAY_PORT"] = "\(port)"
        environment["ASSAY_TENANT_KEY_BITS"] = "2048"
        environment["ASSAY_INGEST_WORKERS"] = "2"
        environment.removeValue(forKey: "DATABASE_URL")
        environment.merge(extraEnvironment) { _, extra in extra }
        return environment
    }

    /// Runs a one-shot command (quickstart, key public, upload-token) and returns its output.
    func command(_ arguments: [String]) throws -> String {
        let process = Process()
        let output = Pipe()
        process.executableURL = binary
        process.arguments = arguments
        process.environment = environment
        process.currentDirectoryURL = directory
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw TestFailure("assay-server \(arguments.joined(separator: " ")) failed") }
        return String(decoding: data, as: UTF8.self)
    }

    func start() throws {
        let process = Process()
        process.executableURL = binary
        process.arguments = ["serve"]
        process.environment = environment
        process.currentDirectoryURL = directory
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        lock.withLock { self.process = process }
    }

    func kill() {
        guard let process = lock.withLock({ self.process }) else { return }
        Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    func stop() {
        guard let process = lock.withLock({ self.process }) else { return }
        process.terminate()
        process.waitUntilExit()
    }

    func cleanUp() {
        try? FileManager.default.removeItem(at: directory)
    }
}

@Suite("Durability: acknowledged uploads survive SIGKILL (ING-1)", .serialized)
struct DurabilityTests {
    struct Answer: Decodable {
        let id: UUID
        let state: String
    }

    @Test("1,000 uploads while the server is SIGKILLed at random moments: every 202 lands in the tenant database exactly once")
    func killAndRestart() async throws {
        let server = try ServerProcess()
        defer {
            server.stop()
            server.cleanUp()
        }
        let setup = try server.command(["quickstart", "--no-scan", "--admin-email", "jane.doe@acme.example"])
        let tenant = try #require(setup.split(separator: "\n").first { $0.hasPrefix("tenant-id: ") }?.dropFirst(11))
        let certificate = try Certificate(importing: Array(try server.command(["key", "public", "--tenant", String(tenant)]).utf8))
        let token = try server.command(["upload-token", "--tenant", String(tenant), "--hours", "2"]).trimmingCharacters(in: .whitespacesAndNewlines)
        try server.start()

        let total = 1000
        let bodies = try (0..<total).map { index in
            try MessageEncryptor.encrypt(try consumptionDocument(device: "device-\(String(format: "%04d", index))", buckets: 3), to: [certificate])
        }
        let base = "http://127.0.0.1:\(server.port)"
        let session = URLSession(configuration: .ephemeral)

        /// Sends until the server answers 202 or 200 (a retry of a body it already has), like a console.
        @Sendable func send(_ body: [UInt8]) async -> (UUID, Int) {
            var request = URLRequest(url: URL(string: base + "/api/v1/uploads")!)
            request.httpMethod = "POST"
            request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
            request.setValue(sha256Hex(Data(body)), forHTTPHeaderField: UploadController.digestHeader)
            request.setValue("application/octet-stream", forHTTPHeaderField: "Content-Type")
            request.httpBody = Data(body)
            request.timeoutInterval = 10
            while true {
                if let (data, response) = try? await session.data(for: request), let status = (response as? HTTPURLResponse)?.statusCode,
                    [200, 202].contains(status), let answer = try? JSONDecoder().decode(Answer.self, from: data)
                {
                    return (answer.id, status)
                }
                try? await Task.sleep(nanoseconds: 50_000_000)
            }
        }

        // Wait for the first start.
        for _ in 0..<200 {
            if let (_, response) = try? await session.data(from: URL(string: base + "/health")!), (response as? HTTPURLResponse)?.statusCode == 200 { break }
            try await Task.sleep(nanoseconds: 100_000_000)
        }

        let killer = Task {
            var kills = 0
            while !Task.isCancelled {
                try? await Task.sleep(nanoseconds: UInt64.random(in: 300_000_000...1_200_000_000))
                if Task.isCancelled { break }
                server.kill()
                kills += 1
                try? server.start()
            }
            return kills
        }
        var acknowledged: [Int: UUID] = [:]
        try await withThrowingTaskGroup(of: (Int, UUID).self) { group in
            var next = 0
            for _ in 0..<8 {
                let index = next
                group.addTask { (index, await send(bodies[index]).0) }
                next += 1
            }
            while let (index, id) = try await group.next() {
                acknowledged[index] = id
                if next < total {
                    let index = next
                    group.addTask { (index, await send(bodies[index]).0) }
                    next += 1
                }
            }
        }
        killer.cancel()
        let kills = await killer.value
        #expect(kills >= 3, "the server was killed only \(kills) times")
        #expect(acknowledged.count == total)
        #expect(Set(acknowledged.values).count == total)

        // Let the workers drain the queue, then stop and look inside.
        server.kill()
        try server.start()
        var pending = total
        for _ in 0..<600 {
            try await Task.sleep(nanoseconds: 200_000_000)
            pending = try await countPending(server)
            if pending == 0 { break }
        }
        #expect(pending == 0)
        server.stop()

        var configuration = ServerConfiguration()
        configuration.dataDirectory = server.directory.appendingPathComponent("data").path
        configuration.regions = [.init(id: "local", storage: configuration.dataDirectory + "/local")]
        try await withApp { app in
            try await configure(app, configuration: configuration)
            let tenantID = try #require(UUID(uuidString: String(tenant)))
            let database = try await app.ingest.tenantDatabases.store(for: try await .forTests(tenantID, app: app), catalog: Catalog(app.db)).database.sql()
            let rows = try await database.raw("SELECT upload_id, device_id FROM ingested_uploads").all()
            var seen: [String: Int] = [:]
            for row in rows { seen[try row.decode(column: "upload_id", as: String.self), default: 0] += 1 }
            for (index, id) in acknowledged {
                #expect(
                    seen[id.uuidString.lowercased()] == 1, "upload \(index) (\(id)) is in the tenant database \(seen[id.uuidString.lowercased()] ?? 0) times")
            }
            let devices = try await database.raw("SELECT COUNT(*) AS n FROM devices").first()?.decode(column: "n", as: Int.self)
            #expect(devices == total)
            let unfinished = try await Upload.query(on: app.db).filter(\.$state != .done).all()
            #expect(
                unfinished.isEmpty,
                "\(unfinished.map { "\($0.state) attempts=\($0.attempts) next=\($0.nextAttemptAt) by=\($0.claimedBy ?? "-") \($0.failure ?? "")" })")
        }
    }

    func countPending(_ server: ServerProcess) async throws -> Int {
        var configuration = ServerConfiguration()
        configuration.dataDirectory = server.directory.appendingPathComponent("data").path
        configuration.regions = [.init(id: "local", storage: configuration.dataDirectory + "/local")]
        var pending = 0
        try await withApp { app in
            try await configure(app, configuration: configuration)
            pending = try await Upload.query(on: app.db).filter(\.$state ~~ [.queued, .processing]).count()
        }
        return pending
    }
}

@Suite("First run: quickstart scans this machine through the real API")
struct FirstRunTests {
    @Test("assay-server quickstart runs the bot beside it, uploads inventory and a short sample with an upload-only token, and ingests them")
    func quickstartScansThisMachine() throws {
        let server = try ServerProcess()
        defer { server.cleanUp() }
        let output = try server.command(["quickstart", "--sample-seconds", "4", "--admin-email", "jane.doe@acme.example"])
        let uploads = output.split(separator: "\n").filter { $0.hasPrefix("upload ") }
        #expect(uploads.contains { $0.hasSuffix(": done inventory ") || $0.contains(": done inventory") }, "\(output)")
        #expect(uploads.contains { $0.contains(": done consumption") }, "\(output)")
        #expect(uploads.allSatisfy { $0.contains(": done ") }, "\(output)")
        #expect(output.contains("This machine: "))
        // what the bot saw is left for the user to read, and no token is printed
        let dryRun = server.directory.appendingPathComponent("data/first-run/this-machine-inventory.json")
        #expect(FileManager.default.fileExists(atPath: dryRun.path))
        #expect(!output.contains("asu_"))
        // running it again changes nothing and scans nothing
        let again = try server.command(["quickstart"])
        #expect(again.contains("already set up") && !again.contains("upload "))
    }
}
