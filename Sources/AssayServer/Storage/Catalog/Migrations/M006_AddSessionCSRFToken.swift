import FluentKit
import FluentSQL
import SQLKit

/// Sessions carry a CSRF token. Sessions from before have none and end: their users sign in again.
struct M006_AddSessionCSRFToken: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await Session.query(on: database).delete()
        try await database.schema(Session.schema)
            .field("csrf_token", .string, .required, .sql(.default("")))
            .update()
    }

    func revert(on database: any Database) async throws {
        try await database.schema(Session.schema).deleteField("csrf_token").update()
    }
}
