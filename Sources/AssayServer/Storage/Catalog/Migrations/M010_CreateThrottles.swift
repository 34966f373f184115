import FluentKit
import SQLKit

/// Counters for throttling (ASVS 2.2.1): one row per key and window, in the catalog so that every
/// replica counts the same attempts.
struct M010_CreateThrottles: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema("throttles")
            .field("throttle_key", .string, .identifier(auto: false))
            .field("count", .int, .required)
            .field("expires_at", .datetime, .required)
            .create()
        try await database.sql().create(index: "throttles_expiry").on("throttles").column("expires_at").run()
    }

    func revert(on database: any Database) async throws {
        try await database.schema("throttles").delete()
    }
}
