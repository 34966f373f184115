import FluentKit
import SQLKit

/// Software sets stored once per tenant, by content: servers built from one image share one set,
/// so a device's inventory costs one row, not 800. `software` stays readable as a view with the
/// same columns (device_id, name, version, architecture, source, vendor). Every snapshot names
/// its set, so the history of a device's software is kept as well.
struct T003_ShareSoftwareSets: AsyncMigration {
    func prepare(on database: any Database) async throws {
        let sql = try database.sql()
        try await Self.createSetTables(on: database)
        try await database.schema("devices").field("software_set", .string).update()
        try await database.schema("inventory_snapshots").field("software_set", .string).update()
        // What T001 stored per device becomes one set per device.
        try await sql.raw(
            """
            INSERT INTO software_set_packages (set_id, name, version, architecture, source, vendor)
            SELECT 'device:' || device_id, name, version, architecture, source, vendor FROM software
            """
        ).run()
        try await sql.raw(
            """
            INSERT INTO software_sets (set_id, package_count)
            SELECT set_id, COUNT(*) FROM software_set_packages GROUP BY set_id
            """
        ).run()
        try await sql.raw(
            """
            UPDATE devices SET software_set = 'device:' || device_id
            WHERE device_id IN (SELECT DISTINCT device_id FROM software)
            """
        ).run()
        try await database.schema("software").delete()
        try await Self.createSoftwareView(on: sql)
    }

    func revert(on database: any Database) async throws {
        let sql = try database.sql()
        try await sql.raw("DROP VIEW software").run()
        try await T001_CreateInventory.createSoftwareTable(on: database)
        try await sql.raw(
            """
            INSERT INTO software (device_id, name, version, architecture, source, vendor)
            SELECT d.device_id, p.name, p.version, p.architecture, p.source, p.vendor
            FROM devices d JOIN software_set_packages p ON p.set_id = d.software_set
            """
        ).run()
        try await database.schema("inventory_snapshots").deleteField("software_set").update()
        try await database.schema("devices").deleteField("software_set").update()
        try await database.schema("software_set_packages").delete()
        try await database.schema("software_sets").delete()
    }

    /// The set tables as T003 makes them (T004's revert makes them again).
    static func createSetTables(on database: any Database) async throws {
        try await database.schema("software_sets")
            .field("set_id", .string, .identifier(auto: false))
            .field("package_count", .int, .required)
            .create()
        try await database.schema("software_set_packages")
            .field("set_id", .string, .required)
            .field("name", .string, .required)
            .field("version", .string, .required)
            .field("architecture", .string, .required)
            .field("source", .string, .required)
            .field("vendor", .string)
            .unique(on: "set_id", "name", "architecture", "version")
            .create()
    }

    /// `software` as T003 defines it: a device's packages through its set.
    static func createSoftwareView(on sql: any SQLDatabase) async throws {
        try await sql.raw(
            """
            CREATE VIEW software AS
            SELECT d.device_id, p.name, p.version, p.architecture, p.source, p.vendor
            FROM devices d JOIN software_set_packages p ON p.set_id = d.software_set
            """
        ).run()
    }
}
