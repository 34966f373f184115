import FluentKit
import SQLKit

/// SEC-6 for the catalog on PostgreSQL: the service's own role may read and write the rows its job
/// needs and nothing more. It cannot change the schema (it owns nothing), cannot rewrite or delete
/// audit events (INSERT and SELECT only: the log is append-only in the database itself, not just in
/// the code), and cannot touch the migration ledger. The owner role runs `migrate` and this.
enum CatalogGrants {
    struct InvalidRole: Error, CustomStringConvertible {
        let role: String
        var description: String { "\"\(role)\" is not a plain PostgreSQL role name (lower-case letters, digits, _; at most 63)" }
    }

    /// Tables whose rows the service changes; everything else in the catalog it may only read.
    static let readWriteTables = [
        Tenant.schema, User.schema, Invitation.schema, Session.schema, KnownFingerprint.schema, SignInChallenge.schema,
        TenantKey.schema, Upload.schema, ConsoleGrant.schema, UploadToken.schema, "throttles",
    ]
    static let appendOnlyTables = [AuditEvent.schema]
    static let readOnlyTables = ["_fluent_migrations"]

    static func statements(role: String) throws -> [String] {
        let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789_")
        guard !role.isEmpty, role.count <= 63, role.allSatisfy(allowed.contains), !role.first!.isNumber else { throw InvalidRole(role: role) }
        let quoted = "\"\(role)\""
        return [
            "REVOKE ALL ON ALL TABLES IN SCHEMA public FROM \(quoted)",
            "GRANT USAGE ON SCHEMA public TO \(quoted)",
        ]
            + readWriteTables.map { "GRANT SELECT, INSERT, UPDATE, DELETE ON \"\($0)\" TO \(quoted)" }
            + appendOnlyTables.map { "GRANT SELECT, INSERT ON \"\($0)\" TO \(quoted)" }
            + readOnlyTables.map { "GRANT SELECT ON \"\($0)\" TO \(quoted)" }
    }

    static func apply(role: String, on catalog: Catalog) async throws {
        try await apply(role: role, on: try catalog.database.sql())
    }

    static func apply(role: String, on database: any SQLDatabase) async throws {
        for statement in try statements(role: role) {
            try await database.raw(SQLQueryString(statement)).run()
        }
    }
}
