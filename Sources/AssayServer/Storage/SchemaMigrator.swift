import FluentKit
import Logging

/// Runs schema migrations so that each one and its ledger row commit together, in one transaction
/// (SQLite and PostgreSQL both roll back DDL). Fluent's own migrator records a migration after
/// preparing it and outside any transaction: a process killed part-way leaves tables that nobody
/// recorded, and every later start fails on "table … already exists" (seen when a server was
/// SIGKILLed while it opened a new tenant's database). The ledger is Fluent's (`_fluent_migrations`,
/// same names and batches), so databases migrated before carry on.
struct SchemaMigrator: Sendable {
    let database: any Database
    let migrations: [any Migration]
    let logger: Logger

    /// Prepares, in order, every migration the ledger lacks, as one new batch; returns their names.
    @discardableResult
    func prepare() async throws -> [String] {
        try await MigrationLog.migration.prepare(on: database).get()
        var ledger = try await readLedger()
        let batch = (ledger.values.max() ?? 0) + 1
        var prepared: [String] = []
        for migration in migrations where ledger[migration.name] == nil {
            do {
                try await database.transaction { transaction in
                    try await migration.prepare(on: transaction).get()
                    try await MigrationLog(name: migration.name, batch: batch).create(on: transaction)
                }
            } catch {
                // Another process (a second replica opening the same tenant) may have prepared it
                // meanwhile: our transaction then fails on its tables, and its ledger row says so.
                ledger = try await readLedger()
                guard ledger[migration.name] != nil else { throw error }
                continue
            }
            prepared.append(migration.name)
            logger.debug("schema migration prepared", metadata: ["migration": .string(migration.name)])
        }
        return prepared
    }

    /// The names of the migrations the ledger lacks (all of them on a database never migrated).
    /// Reads only: it creates nothing, not even the ledger.
    func pending() async throws -> [String] {
        let ledger = (try? await readLedger()) ?? [:]
        return migrations.map(\.name).filter { ledger[$0] == nil }
    }

    /// Reverts the newest batch, newest migration first, each with its ledger row in one transaction.
    @discardableResult
    func revertLastBatch() async throws -> [String] {
        let ledger = try await readLedger()
        guard let last = ledger.values.max() else { return [] }
        return try await revert(migrations.filter { ledger[$0.name] == last })
    }

    /// Reverts every migration the ledger holds, newest first.
    @discardableResult
    func revertAll() async throws -> [String] {
        let ledger = try await readLedger()
        return try await revert(migrations.filter { ledger[$0.name] != nil })
    }

    private func revert(_ chosen: [any Migration]) async throws -> [String] {
        for migration in chosen.reversed() {
            let name = migration.name
            try await database.transaction { transaction in
                try await migration.revert(on: transaction).get()
                try await MigrationLog.query(on: transaction).filter(\.$name == name).delete()
            }
        }
        return chosen.reversed().map(\.name)
    }

    /// Name → batch of every recorded migration.
    private func readLedger() async throws -> [String: Int] {
        let rows = try await MigrationLog.query(on: database).field(\.$name).field(\.$batch).all()
        return Dictionary(rows.map { ($0.name, $0.batch) }, uniquingKeysWith: max)
    }
}
