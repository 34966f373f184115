import Fluent
import Foundation
import SQLKit
import Testing
import Vapor

@testable import AssayServer

/// A migration named like a real one, which creates its table and then, if told to, fails: the
/// state a process killed part-way through its prepare would leave behind without a transaction.
private struct ProbeMigration: AsyncMigration {
    var failAfterCreating = false
    var name: String { "X001_Probe" }

    struct Interrupted: Error {}

    func prepare(on database: any Database) async throws {
        try await database.schema("probe_first").field("id", .int, .identifier(auto: false)).create()
        if failAfterCreating { throw Interrupted() }
        try await database.schema("probe_second").field("id", .int, .identifier(auto: false)).create()
    }

    func revert(on database: any Database) async throws {
        try await database.schema("probe_second").delete()
        try await database.schema("probe_first").delete()
    }
}

private struct ProbeFollower: AsyncMigration {
    var name: String { "X002_ProbeFollower" }
    func prepare(on database: any Database) async throws {
        try await database.schema("probe_third").field("id", .int, .identifier(auto: false)).create()
    }
    func revert(on database: any Database) async throws { try await database.schema("probe_third").delete() }
}

@Suite("Schema migrations commit with their ledger row, or not at all")
struct SchemaMigratorTests {
    private func tableExists(_ table: String, on database: any Database) async -> Bool {
        guard let sql = database as? any SQLDatabase else { return false }
        return (try? await sql.raw("SELECT COUNT(*) FROM \(ident: table)").run()) != nil
    }

    private func ledgerNames(_ database: any Database) async throws -> Set<String> {
        Set(try await MigrationLog.query(on: database).all().map(\.name))
    }

    @Test("a migration that fails part-way leaves no table and no ledger row; the next run completes it", arguments: CatalogBackend.testable)
    func interruptedMigration(backend: CatalogBackend) async throws {
        try await withTestApp(backend) { app, _ in
            let interrupted = SchemaMigrator(
                database: app.db, migrations: CatalogSchema.migrations + [ProbeMigration(failAfterCreating: true), ProbeFollower()],
                logger: app.logger)
            await #expect(throws: ProbeMigration.Interrupted.self) { try await interrupted.prepare() }
            #expect(!(await tableExists("probe_first", on: app.db)), "the half-made migration's first table was kept")
            #expect(!(await tableExists("probe_third", on: app.db)), "a migration after the failed one ran")
            let afterFailure = try await ledgerNames(app.db)
            #expect(!afterFailure.contains("X001_Probe"))

            // The next start: the same migration, this time whole, and the one after it.
            let restarted = SchemaMigrator(database: app.db, migrations: CatalogSchema.migrations + [ProbeMigration(), ProbeFollower()], logger: app.logger)
            #expect(try await restarted.prepare() == ["X001_Probe", "X002_ProbeFollower"])
            for table in ["probe_first", "probe_second", "probe_third"] { #expect(await tableExists(table, on: app.db), "\(table) missing") }
            #expect(try await restarted.prepare().isEmpty)
            #expect(try await restarted.revertLastBatch() == ["X002_ProbeFollower", "X001_Probe"])
            #expect(!(await tableExists("probe_first", on: app.db)))
            let afterRevert = try await ledgerNames(app.db)
            #expect(afterRevert == Set(CatalogSchema.migrations.map(\.name)))
        }
    }

    @Test(
        "two replicas opening one PostgreSQL database at once both finish, and each migration runs once",
        .enabled(if: CatalogBackend.testable.contains(.postgres)))
    func concurrentReplicas() async throws {
        try await withTestApp(.postgres) { app, _ in
            let migrations: [any Migration] = CatalogSchema.migrations + [ProbeMigration(), ProbeFollower()]
            let replicas = (0..<4).map { _ in SchemaMigrator(database: app.db, migrations: migrations, logger: app.logger) }
            let prepared = try await withThrowingTaskGroup(of: [String].self) { group in
                for replica in replicas { group.addTask { try await replica.prepare() } }
                return try await group.reduce(into: []) { $0 += $1 }
            }
            #expect(prepared.sorted() == ["X001_Probe", "X002_ProbeFollower"])
            let sql = try #require(app.db as? any SQLDatabase)
            let rows = try await sql.raw("SELECT name FROM _fluent_migrations WHERE name LIKE 'X00%'").all()
            #expect(rows.count == 2)
        }
    }
}
