import FluentKit

struct M001_CreateTenants: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(Tenant.schema)
            .id()
            .field("name", .string, .required)
            .field("region", .string, .required)
            .field("state", .string, .required)
            .field("created_at", .datetime)
            .create()
    }

    func revert(on database: any Database) async throws {
        try await database.schema(Tenant.schema).delete()
    }
}
