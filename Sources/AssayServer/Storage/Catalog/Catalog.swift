import FluentKit
import Foundation
import SQLKit

/// The catalog database (one per deployment) as the stores that hold its tables. One value over
/// one handle: the application's, a request's, or a transaction's, so that several stores can
/// write in one transaction (`transaction`).
public struct Catalog: Sendable {
    let database: any Database

    public init(_ database: any Database) { self.database = database }

    var users: UserStore { UserStore(database: database) }
    var sessions: SessionStore { SessionStore(database: database) }
    var signIns: SignInStore { SignInStore(database: database) }
    var invitations: InvitationStore { InvitationStore(database: database) }
    var consoleCredentials: ConsoleCredentialStore { ConsoleCredentialStore(database: database) }
    var tenants: TenantRegistry { TenantRegistry(database: database) }
    var tenantKeys: TenantKeyStore { TenantKeyStore(database: database) }
    var uploads: UploadQueue { UploadQueue(database: database) }
    var audit: AuditLog { AuditLog(database: database) }
    var throttles: ThrottleStore { ThrottleStore(database: database) }

    /// Runs `body` in one catalog transaction: all its writes land, or none.
    func transaction<T: Sendable>(_ body: @escaping @Sendable (Catalog) async throws -> T) async throws -> T {
        try await database.transaction { transaction in try await body(Catalog(transaction)) }
    }

    /// For readiness probes: does the catalog answer a query?
    func answers() async -> Bool {
        (try? await Tenant.query(on: database).limit(1).all()) != nil
    }

    var migrator: SchemaMigrator { SchemaMigrator(database: database, migrations: CatalogSchema.migrations, logger: database.logger) }

    /// SQLite only: write-ahead logging, so that readers do not wait for the writer and a commit is one fsync.
    func useWriteAheadLog() async throws {
        let sql = try database.sql()
        guard !sql.isPostgreSQL else { return }
        try await sql.raw("PRAGMA journal_mode=WAL").run()
    }
}
