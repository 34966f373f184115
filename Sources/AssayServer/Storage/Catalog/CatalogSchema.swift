import FluentKit

/// The catalog's tables, numbered; each migration commits with its ledger row (`SchemaMigrator`).
enum CatalogSchema {
    static let migrations: [any Migration] = [
        M001_CreateTenants(),
        M002_CreateUsers(),
        M003_CreateInvitations(),
        M004_CreateAuditEvents(),
        M005_CreateSessions(),
        M006_AddSessionCSRFToken(),
        M007_CreateTenantKeysAndUploads(),
        M008_IndexAuditByTenantAction(),
        M009_SessionGraceAndIdle(),
        M010_CreateThrottles(),
        M011_AuditChainPerTenant(),
        M012_CreateConsoleGrantFamilies(),
    ]
}
