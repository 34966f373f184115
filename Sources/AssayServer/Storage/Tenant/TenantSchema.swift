import FluentKit
import SQLKit

/// The tables of a tenant database (ING-1, ING-3). Numbered like the catalog's, each with a revert.
public enum TenantSchema {
    static let migrations: [any Migration] = [T001_CreateInventory(), T002_CreateUsage(), T003_ShareSoftwareSets(), T004_IntegerSetKeys()]

    /// Brings one tenant database up to date (`TenantDatabases` does this before the first query).
    public static func migrate(_ database: any Database, logger: Logger) async throws {
        try await SchemaMigrator(database: database, migrations: migrations, logger: logger).prepare()
    }
}
