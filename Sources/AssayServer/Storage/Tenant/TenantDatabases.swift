import FluentKit
import FluentPostgresDriver
import FluentSQLiteDriver
import Foundation
import Logging
import NIOCore
import SQLKit

/// The one way to a tenant's own database (ING-1, ING-2): a SQLite file per tenant under its
/// region's directory, or — when the region has a PostgreSQL server — a database per tenant on it,
/// created on first use. Either way the tenant migrations run before the first query. Nothing
/// opens a tenant database without a `TenantScope`, which only authentication or a claimed upload
/// can produce.
public actor TenantDatabases {
    let databases: Databases
    let configuration: ServerConfiguration
    let logger: Logger
    let eventLoopGroup: any EventLoopGroup
    private var ready: [TenantID: DatabaseID] = [:]
    private var opening: [TenantID: Task<DatabaseID, any Error>] = [:]

    init(databases: Databases, configuration: ServerConfiguration, logger: Logger, eventLoopGroup: any EventLoopGroup) {
        self.databases = databases
        self.configuration = configuration
        self.logger = logger
        self.eventLoopGroup = eventLoopGroup
    }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    static func databaseName(_ tenantID: TenantID) -> String { "tenant_" + tenantID.lowercased.replacingOccurrences(of: "-", with: "") }

    /// The tenant's database, migrated. `catalog` is where the tenant row (and its region) is read.
    func store(for scope: TenantScope, catalog: Catalog) async throws -> TenantStore {
        TenantStore(scope: scope, database: try registered(try await databaseID(for: scope, catalog: catalog)))
    }

    private func registered(_ id: DatabaseID) throws -> any Database {
        guard let database = databases.database(id, logger: logger, on: eventLoopGroup.any()) else {
            throw Failure(description: "the tenant database is not registered")
        }
        return database
    }

    func databaseID(for scope: TenantScope, catalog: Catalog) async throws -> DatabaseID {
        if let id = ready[scope.tenantID] { return id }
        if let task = opening[scope.tenantID] { return try await task.value }
        let task = Task { try await open(scope, catalog: catalog) }
        opening[scope.tenantID] = task
        defer { opening[scope.tenantID] = nil }
        let id = try await task.value
        ready[scope.tenantID] = id
        return id
    }

    private func open(_ scope: TenantScope, catalog: Catalog) async throws -> DatabaseID {
        guard let tenant = try await catalog.tenants.find(scope.tenantID), let region = configuration.region(tenant.region) else {
            throw Failure(description: "tenant \(scope.tenantID) or its region is not configured")
        }
        let name = Self.databaseName(scope.tenantID)
        let id = DatabaseID(string: name)
        if let serverURL = region.databaseURL {
            try await createPostgresDatabaseIfNeeded(name, region: region.id, serverURL: serverURL)
            var components = URLComponents(string: serverURL)
            components?.path = "/" + name
            guard let url = components?.string else { throw Failure(description: "the region's DATABASE_URL is not a URL") }
            databases.use(
                .postgres(configuration: try SQLPostgresConfiguration(url: url), maxConnectionsPerEventLoop: 2, sqlLogLevel: .trace),
                as: id, isDefault: false)
        } else {
            try FileManager.default.createDirectory(atPath: region.storage, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            databases.use(.sqlite(.file(region.storage + "/" + name + ".sqlite"), sqlLogLevel: .trace), as: id, isDefault: false)
            // Write-ahead logging: one fsync per commit, and the portal reads while a worker writes.
            try await registered(id).sql().raw("PRAGMA journal_mode=WAL").run()
        }
        try await TenantSchema.migrate(try registered(id), logger: logger)
        return id
    }

    /// One database per tenant on the region's server; the region URL's role needs CREATEDB. One
    /// small pool per region serves every tenant created there.
    private func createPostgresDatabaseIfNeeded(_ name: String, region: String, serverURL: String) async throws {
        let serverID = DatabaseID(string: "region-server-" + region)
        if databases.configuration(for: serverID) == nil {
            databases.use(
                .postgres(configuration: try SQLPostgresConfiguration(url: serverURL), maxConnectionsPerEventLoop: 1, sqlLogLevel: .trace),
                as: serverID, isDefault: false)
        }
        guard let server = try databases.database(serverID, logger: logger, on: eventLoopGroup.any())?.sql() else {
            throw Failure(description: "the region's PostgreSQL server cannot be reached")
        }
        let exists = try await server.raw("SELECT 1 FROM pg_database WHERE datname = \(bind: name)").all()
        if exists.isEmpty {
            do {
                try await server.raw("CREATE DATABASE \(ident: name)").run()
            } catch {
                // Another replica created it at the same moment.
                let again = try await server.raw("SELECT 1 FROM pg_database WHERE datname = \(bind: name)").all()
                if again.isEmpty { throw error }
            }
        }
        // SEC-6: PostgreSQL lets every role connect to a new database (and make temporary tables in
        // it); a tenant's database is its owner's alone. Every time it is opened, not only when it
        // is created: a process killed between CREATE and REVOKE must not leave it open.
        try await server.raw("REVOKE ALL ON DATABASE \(ident: name) FROM PUBLIC").run()
    }
}
