import FluentKit
import SQLKit

struct T001_CreateInventory: AsyncMigration {
    func prepare(on database: any Database) async throws {
        // One row per device, upserted by the bot's device id; its latest inventory is the newest snapshot.
        try await database.schema("devices")
            .field("device_id", .string, .identifier(auto: false))
            .field("hostname", .string, .required)
            .field("fqdn", .string)
            .field("os", .string)
            .field("kernel", .string)
            .field("architecture", .string)
            .field("virtualization", .string)
            .field("cpu_model", .string)
            .field("cpu_cores", .int)
            .field("cpu_threads", .int)
            .field("memory_bytes", .int64)
            .field("storage_bytes", .int64)
            .field("software_count", .int)
            .field("first_seen", .int64, .required)
            .field("last_seen", .int64, .required)
            .field("inventory_at", .int64)
            .create()
        // Every inventory snapshot is kept (history); `software` holds the current set per device.
        try await database.schema("inventory_snapshots")
            .field("upload_id", .string, .identifier(auto: false))
            .field("device_id", .string, .required)
            .field("collected_at", .int64, .required)
            .field("software_count", .int, .required)
            .field("document", .string, .required)
            .create()
        try await Self.createSoftwareTable(on: database)
        // Exactly once: a document's rows and this row commit together.
        try await database.schema("ingested_uploads")
            .field("upload_id", .string, .identifier(auto: false))
            .field("kind", .string, .required)
            .field("device_id", .string, .required)
            .field("ingested_at", .int64, .required)
            .create()
    }

    /// The per-device package table as T001 makes it (T003's revert makes it again).
    static func createSoftwareTable(on database: any Database) async throws {
        try await database.schema("software")
            .field("device_id", .string, .required)
            .field("name", .string, .required)
            .field("version", .string, .required)
            .field("architecture", .string, .required)
            .field("source", .string, .required)
            .field("vendor", .string)
            .unique(on: "device_id", "name", "architecture", "version")
            .create()
    }

    func revert(on database: any Database) async throws {
        for table in ["ingested_uploads", "software", "inventory_snapshots", "devices"] {
            try await database.schema(table).delete()
        }
    }
}
