import FluentKit
import SQLKit

/// The key-unwrap rate check (KEY-4) counts a tenant's recent unwraps on every batch; without an
/// index that count reads the whole audit log, which only grows.
struct M008_IndexAuditByTenantAction: AsyncMigration {
    func prepare(on database: any Database) async throws {
        let sql = try database.sql()
        try await sql.create(index: "audit_events_tenant_action_time").on(AuditEvent.schema)
            .column("tenant_id").column("action").column("occurred_at").run()
    }

    func revert(on database: any Database) async throws {
        let sql = try database.sql()
        try await sql.drop(index: "audit_events_tenant_action_time").run()
    }
}
