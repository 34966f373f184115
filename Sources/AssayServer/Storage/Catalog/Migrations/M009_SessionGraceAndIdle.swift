import FluentKit
import SQLKit

/// Sessions keep the token they replaced for a short grace (a page's parallel requests at the
/// rotation moment all get through), and note when they were last used (the idle timeout).
struct M009_SessionGraceAndIdle: AsyncMigration {
    func prepare(on database: any Database) async throws {
        // One column per statement: SQLite adds one column per ALTER TABLE.
        try await database.schema(Session.schema).field("previous_token_hash", .string).update()
        try await database.schema(Session.schema).field("previous_valid_until", .datetime).update()
        try await database.schema(Session.schema).field("last_seen_at", .datetime).update()
        try await database.sql().create(index: "sessions_previous_token").on(Session.schema).column("previous_token_hash").run()
    }

    func revert(on database: any Database) async throws {
        try await database.sql().drop(index: "sessions_previous_token").run()
        try await database.schema(Session.schema).deleteField("last_seen_at").update()
        try await database.schema(Session.schema).deleteField("previous_valid_until").update()
        try await database.schema(Session.schema).deleteField("previous_token_hash").update()
    }
}
