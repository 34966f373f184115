import FluentKit

struct M005_CreateSessions: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(Session.schema)
            .id()
            .field("user_id", .uuid, .required, .references(User.schema, .id, onDelete: .cascade))
            .field("tenant_id", .uuid, .required)
            .field("token_hash", .string, .required)
            .field("fingerprint", .string, .required)
            .field("created_at", .datetime, .required)
            .field("rotated_at", .datetime, .required)
            .field("expires_at", .datetime, .required)
            .unique(on: "token_hash")
            .create()
        try await database.schema(KnownFingerprint.schema)
            .id()
            .field("user_id", .uuid, .required, .references(User.schema, .id, onDelete: .cascade))
            .field("digest", .string, .required)
            .field("verified_at", .datetime, .required)
            .unique(on: "user_id", "digest")
            .create()
        try await database.schema(SignInChallenge.schema)
            .id()
            .field("user_id", .uuid, .required, .references(User.schema, .id, onDelete: .cascade))
            .field("attempt_hash", .string, .required)
            .field("code_hash", .string, .required)
            .field("fingerprint", .string, .required)
            .field("tries", .int, .required)
            .field("expires_at", .datetime, .required)
            .unique(on: "attempt_hash")
            .create()
    }

    func revert(on database: any Database) async throws {
        try await database.schema(SignInChallenge.schema).delete()
        try await database.schema(KnownFingerprint.schema).delete()
        try await database.schema(Session.schema).delete()
    }
}
