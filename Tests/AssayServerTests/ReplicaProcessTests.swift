import Foundation
import Testing

@testable import AssayServer

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// AUTH-7 across replicas with the real binary: two `assay-server` processes, each with its own
/// port and connection pool, on one PostgreSQL catalog.
@Suite("Two server processes on one PostgreSQL", .serialized)
struct ReplicaProcessTests {
    /// The first value psql prints for `sql`.
    static func psqlValue(_ url: String, _ sql: String) throws -> String {
        let process = Process()
        let output = Pipe()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/psql")
        process.arguments = [url, "-tAq", "-v", "ON_ERROR_STOP=1", "-c", sql]
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func post(_ server: ServerProcess, _ path: String, _ body: [String: String]) async throws -> Int {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(server.port)\(path)")!)
        request.httpMethod = "POST"
        request.httpBody = try JSONSerialization.data(withJSONObject: body)
        for (name, value) in [
            "Content-Type": "application/json", "Origin": "http://127.0.0.1:\(server.port)", "User-Agent": "Mozilla/5.0 Chrome/131.0",
            "X-Display-Resolution": "1920x1080",
        ] {
            request.setValue(value, forHTTPHeaderField: name)
        }
        let (_, response) = try await URLSession(configuration: .ephemeral).data(for: request)
        return (response as? HTTPURLResponse)?.statusCode ?? 0
    }

    @Test(
        "30 wrong passwords at once through two server processes: one lock, and the right password refused by both",
        .enabled(if: CatalogBackend.testable.contains(.postgres)))
    func lockoutAcrossProcesses() async throws {
        let environment = ProcessInfo.processInfo.environment
        let adminURL = try #require(
            environment["ASSAY_TEST_POSTGRES_URL"], "ASSAY_TEST_POSTGRES_URL is not set: run the tests with scripts/test.sh, which starts PostgreSQL")
        let name = "assay_test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        try runPSQL(adminURL, "CREATE DATABASE \(name)")
        defer { try? runPSQL(adminURL, "DROP DATABASE IF EXISTS \(name) WITH (FORCE)") }
        var catalog = try #require(URLComponents(string: adminURL))
        catalog.path = "/" + name
        let shared = ["DATABASE_URL": try #require(catalog.string), "ASSAY_REGIONS": "local", "DATABASE_URL_LOCAL": adminURL, "ASSAY_INGEST_WORKERS": "0"]
        let replicas = [try ServerProcess(environment: shared), try ServerProcess(environment: shared)]
        defer {
            for replica in replicas {
                replica.stop()
                replica.cleanUp()
            }
        }
        let email = "jane.doe@acme.example"
        let password = "Tr0ub4dor & 3 horses"
        _ = try replicas[0].command(["quickstart", "--no-scan", "--admin-email", email])
        let outbox = replicas[0].directory.appendingPathComponent("data/outbox")
        let mail = try FileManager.default.contentsOfDirectory(atPath: outbox.path).map { try String(contentsOfFile: outbox.path + "/" + $0, encoding: .utf8) }
            .first { $0.contains("/register#") }
        let token = try #require(mail?.split(separator: "#").last?.prefix { !$0.isWhitespace })
        for replica in replicas { try replica.start() }
        for replica in replicas {
            var ready = false
            for _ in 0..<100 where !ready {
                ready = (try? await URLSession(configuration: .ephemeral).data(from: URL(string: "http://127.0.0.1:\(replica.port)/health")!)) != nil
                if !ready { try await Task.sleep(nanoseconds: 100_000_000) }
            }
            #expect(ready, "a replica did not start")
        }
        #expect(
            try await Self.post(
                replicas[0], "/api/v1/auth/register", ["token": String(token), "name": "Jane Doe", "phone": "+44 20 7946 0958", "password": password]) == 201)

        // when: 30 wrong passwords at once, half to each process
        let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
            for index in 0..<30 {
                group.addTask {
                    try await Self.post(
                        replicas[index % 2], "/api/v1/auth/sign-in", ["email": email, "password": "Wrong-pass-\(index)", "resolution": "1920x1080"])
                }
            }
            var all: [Int] = []
            for try await status in group { all.append(status) }
            return all
        }
        // then
        #expect(statuses.allSatisfy { $0 == 401 || $0 == 429 }, "\(statuses)")
        #expect(try Self.psqlValue(try #require(catalog.string), "SELECT COUNT(*) FROM audit_events WHERE action = 'account.locked'") == "1")
        for replica in replicas {
            let status = try await Self.post(replica, "/api/v1/auth/sign-in", ["email": email, "password": password, "resolution": "1920x1080"])
            #expect(status == 401 || status == 429, "the right password got \(status) from a replica while the account is locked")
        }
    }
}
