import FluentKit
import Foundation
import SQLKit

/// One tenant's database, handed out by `TenantDatabases` for a `TenantScope` only.
struct TenantStore: Sendable {
    let scope: TenantScope
    let database: any Database

    /// Writes a batch of prepared documents in one transaction (see `TenantWriter`).
    func ingest(_ batch: [DocumentPreparation.Prepared]) async throws -> [TenantWriter.Outcome] {
        try await TenantWriter.ingest(batch, into: database)
    }

    var reports: TenantReports {
        get throws { TenantReports(database: try database.sql()) }
    }
}
