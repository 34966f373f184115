import FluentKit
import SQLKit

/// Revocation at family level (issue 17, 3): one row per console sign-in (and per operator token),
/// filled from the grants and tokens already there. A family with any revoked grant or token is
/// revoked: revocation only ever covered whole families, so a partial one is the race this closes.
struct M012_CreateConsoleGrantFamilies: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(ConsoleGrantFamily.schema)
            .id()
            .field("tenant_id", .uuid, .required, .references(Tenant.schema, .id, onDelete: .cascade))
            .field("user_id", .uuid, .references(User.schema, .id, onDelete: .cascade))
            .field("created_at", .datetime, .required)
            .field("revoked_at", .datetime)
            .field("refusal_audited_at", .datetime)
            .create()
        let sql = try database.sql()
        try await sql.create(index: "console_grant_families_user").on(ConsoleGrantFamily.schema).column("user_id").run()
        try await sql.raw(
            """
            INSERT INTO \(ident: ConsoleGrantFamily.schema) (id, tenant_id, user_id, created_at, revoked_at)
            SELECT family_id, tenant_id, user_id, MIN(created_at), MAX(revoked_at)
            FROM \(ident: ConsoleGrant.schema) GROUP BY family_id, tenant_id, user_id
            """
        ).run()
        try await sql.raw(
            """
            INSERT INTO \(ident: ConsoleGrantFamily.schema) (id, tenant_id, user_id, created_at, revoked_at)
            SELECT family_id, tenant_id, user_id, MIN(created_at), MAX(revoked_at)
            FROM \(ident: UploadToken.schema)
            WHERE family_id NOT IN (SELECT id FROM \(ident: ConsoleGrantFamily.schema)) GROUP BY family_id, tenant_id, user_id
            """
        ).run()
    }

    func revert(on database: any Database) async throws {
        try await database.schema(ConsoleGrantFamily.schema).delete()
    }
}
