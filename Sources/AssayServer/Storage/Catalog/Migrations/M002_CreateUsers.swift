import FluentKit

struct M002_CreateUsers: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(User.schema)
            .id()
            .field("tenant_id", .uuid, .required, .references(Tenant.schema, .id, onDelete: .cascade))
            .field("email", .string, .required)
            .field("name", .string, .required)
            .field("phone", .string, .required)
            .field("password_hash", .string, .required)
            .field("claims", .string, .required)
            .field("state", .string, .required)
            .field("failed_attempts", .int, .required)
            .field("locked_until", .datetime)
            .field("created_at", .datetime)
            .field("last_active_at", .datetime)
            .unique(on: "email")
            .create()
    }

    func revert(on database: any Database) async throws {
        try await database.schema(User.schema).delete()
    }
}
