import FluentKit
import Foundation
import SQLKit

/// One hash chain per tenant, and one for the operator's events, instead of one for the whole
/// deployment: every audited action of every tenant serialised on one chain head (issue 12). The
/// events written before stay, unchanged, in a chain of their own (`deployment`), and verify as
/// before. SQLite cannot drop a table's unique constraint, so the table is rebuilt, rows kept.
struct M011_AuditChainPerTenant: AsyncMigration {
    static let columns = "id, sequence, occurred_at, tenant_id, actor, action, subject, detail, previous_hash, hash"

    func prepare(on database: any Database) async throws {
        let sql = try database.sql()
        try await Self.createTable("audit_events_v2", on: database, chained: true)
        try await sql.raw("INSERT INTO audit_events_v2 (chain, \(unsafeRaw: Self.columns)) SELECT 'deployment', \(unsafeRaw: Self.columns) FROM audit_events")
            .run()
        try await database.schema(AuditEvent.schema).delete()
        try await sql.raw("ALTER TABLE audit_events_v2 RENAME TO audit_events").run()
        try await Self.createIndexes(on: sql)
    }

    /// Back to one chain: every event, in the order it happened, linked again from the start (the
    /// hashes are computed anew, so the old chains' tamper evidence ends at the revert).
    func revert(on database: any Database) async throws {
        let sql = try database.sql()
        let events = try await AuditEvent.query(on: database).sort(\.$occurredAt).sort(\.$chain).sort(\.$sequence).all()
        try await Self.createTable("audit_events_v1", on: database, chained: false)
        var previous = AuditChain.genesis
        for (index, event) in events.enumerated() {
            var record = event.record
            record.sequence = Int64(index + 1)
            record.previousHash = previous
            record.hash = AuditChain.computeHash(record)
            previous = record.hash
            try await sql.insert(into: "audit_events_v1").columns(
                "id", "sequence", "occurred_at", "tenant_id", "actor", "action", "subject", "detail", "previous_hash", "hash"
            )
            .values(
                SQLBind(UUID()), SQLBind(record.sequence), SQLBind(record.occurredAt), SQLBind(record.tenantID?.uuid), SQLBind(record.actor),
                SQLBind(record.action),
                SQLBind(record.subject), SQLBind(record.detail), SQLBind(record.previousHash), SQLBind(record.hash)
            )
            .run()
        }
        try await database.schema(AuditEvent.schema).delete()
        try await sql.raw("ALTER TABLE audit_events_v1 RENAME TO audit_events").run()
        try await sql.create(index: "audit_events_tenant_action_time").on(AuditEvent.schema).column("tenant_id").column("action").column("occurred_at").run()
    }

    static func createTable(_ name: String, on database: any Database, chained: Bool) async throws {
        var schema = database.schema(name).id()
        if chained { schema = schema.field("chain", .string, .required) }
        schema = schema.field("sequence", .int64, .required)
            .field("occurred_at", .datetime, .required)
            .field("tenant_id", .uuid)
            .field("actor", .string, .required)
            .field("action", .string, .required)
            .field("subject", .string, .required)
            .field("detail", .string, .required)
            .field("previous_hash", .string, .required)
            .field("hash", .string, .required)
        // Two writers racing for the same place in a chain: one insert fails and retries.
        schema = chained ? schema.unique(on: "chain", "sequence") : schema.unique(on: "sequence")
        try await schema.create()
    }

    static func createIndexes(on sql: any SQLDatabase) async throws {
        // The index of M008 went with the old table.
        try await sql.create(index: "audit_events_tenant_action_time").on(AuditEvent.schema).column("tenant_id").column("action").column("occurred_at").run()
    }
}
