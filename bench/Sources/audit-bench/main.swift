import AssayServer
import Fluent
import Foundation
import Vapor

// Audit appends per second (issue 12, point 10): `tenants` writers at once, each appending to its
// own tenant's events, for `seconds`; on the embedded SQLite catalog or on DATABASE_URL.
//   audit-bench TENANTS SECONDS
let arguments = CommandLine.arguments
let tenants = arguments.count > 1 ? Int(arguments[1]) ?? 8 : 8
let seconds = arguments.count > 2 ? Double(arguments[2]) ?? 10 : 10
var configuration = try ServerConfiguration.load()
configuration.dataDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("audit-bench-\(UUID().uuidString)").path
defer { try? FileManager.default.removeItem(atPath: configuration.dataDirectory) }
let app = try await Application.make(.testing)
app.logger.logLevel = .warning
try await configure(app, configuration: configuration)
try await app.migrateCatalog()
let log = AuditLog(database: app.db)
let deadline = Date().addingTimeInterval(seconds)
let start = Date()
let counts = try await withThrowingTaskGroup(of: Int.self) { group in
    for _ in 0..<tenants {
        group.addTask {
            let tenant = TenantID(UUID())
            var appended = 0
            while Date() < deadline {
                try await log.append(tenantID: tenant, actor: "bench", action: "bench.append", subject: "tenant:\(tenant)", at: Date())
                appended += 1
            }
            return appended
        }
    }
    var counts: [Int] = []
    for try await count in group { counts.append(count) }
    return counts
}
let elapsed = Date().timeIntervalSince(start)
let total = counts.reduce(0, +)
let (verified, chainBreak) = try await log.verify()
print(
    String(
        format: "%d tenants at once: %d appends in %.1f s = %.0f/s (%@ writer: %@); chain verified: %d events, %@", tenants, total, elapsed,
        Double(total) / elapsed, configuration.databaseURL == nil ? "sqlite" : "postgres",
        counts.map(String.init).joined(separator: "/"), verified, chainBreak.map { "broken: \($0)" } ?? "whole"))
try await app.asyncShutdown()
