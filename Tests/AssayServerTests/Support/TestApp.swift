import Fluent
import Foundation
import Testing
import Vapor
import VaporTesting

@testable import AssayServer

/// Where a test's catalog lives. PostgreSQL runs whenever scripts/test.sh started it, and always
/// in CI, where a missing server fails the tests instead of skipping them.
enum CatalogBackend: String, CaseIterable, CustomStringConvertible, Sendable {
    case sqlite, postgres

    var description: String { rawValue }

    static var testable: [CatalogBackend] {
        let environment = ProcessInfo.processInfo.environment
        return environment["ASSAY_TEST_POSTGRES_URL"] != nil || environment["CI"] != nil ? allCases : [.sqlite]
    }
}

/// A fresh application on its own catalog: a SQLite file in a temporary directory, or a new
/// PostgreSQL database created for this test and dropped after it.
func withTestApp(
    _ backend: CatalogBackend = .sqlite, now: @escaping @Sendable () -> Date = Date.init,
    adjust: (inout ServerConfiguration) -> Void = { _ in },
    _ body: (Application, ServerConfiguration) async throws -> Void
) async throws {
    var configuration = ServerConfiguration()
    configuration.dataDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("assay-\(UUID().uuidString)").path
    configuration.regions = [
        .init(id: "eu-west", storage: configuration.dataDirectory + "/eu-west"), .init(id: "us-west", storage: configuration.dataDirectory + "/us-west"),
    ]
    // Tests read the sign-in mail right after the request; DetachedMailerTests covers the detached path.
    configuration.detachedSignInMail = false
    configuration.tenantKeyBits = 2048  // key generation in a debug build: the smallest allowed size
    defer { try? FileManager.default.removeItem(atPath: configuration.dataDirectory) }
    var databaseName: String?
    let adminURL = ProcessInfo.processInfo.environment["ASSAY_TEST_POSTGRES_URL"]
    if backend == .postgres {
        guard let adminURL else {
            Issue.record("ASSAY_TEST_POSTGRES_URL is not set: run the tests with scripts/test.sh, which starts PostgreSQL")
            return
        }
        let name = "assay_test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        try runPSQL(adminURL, "CREATE DATABASE \(name)")
        databaseName = name
        var components = try #require(URLComponents(string: adminURL))
        components.path = "/" + name
        configuration.databaseURL = components.string
        // Tenant databases go to the same server, one database per tenant.
        configuration.regions = configuration.regions.map { .init(id: $0.id, storage: $0.storage, databaseURL: adminURL) }
    }
    defer { if let databaseName, let adminURL { try? runPSQL(adminURL, "DROP DATABASE IF EXISTS \(databaseName) WITH (FORCE)") } }
    adjust(&configuration)
    try await withApp { app in
        try await configure(app, configuration: configuration, hasher: PasswordHasher(iterations: 1000), now: now)
        try await app.migrateCatalog()
        try await body(app, configuration)
        if backend == .postgres, let adminURL {
            for tenant in (try? await Tenant.query(on: app.db).all()) ?? [] {
                try? runPSQL(adminURL, "DROP DATABASE IF EXISTS \(TenantDatabases.databaseName(TenantID(tenant.id!))) WITH (FORCE)")
            }
        }
    }
}

/// A second replica of the service on the same catalog: its own application and connection pool.
func withReplica(_ configuration: ServerConfiguration, _ body: (Application) async throws -> Void) async throws {
    let replica = try await Application.make(.testing)
    do {
        try await configure(replica, configuration: configuration, hasher: PasswordHasher(iterations: 1000))
        try await body(replica)
    } catch {
        try await replica.asyncShutdown()
        throw error
    }
    try await replica.asyncShutdown()
}
