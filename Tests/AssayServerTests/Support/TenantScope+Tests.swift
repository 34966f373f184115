import Fluent
import Foundation
import Vapor

@testable import AssayServer

extension TenantScope {
    /// Tests reach a tenant's data the way a console does: an operator's upload token for the
    /// tenant, authenticated. No initialiser of the scope (or of what makes one) is open to tests.
    static func forTests(_ tenantID: UUID, app: Application) async throws -> TenantScope {
        let credentials = ConsoleCredentials(catalog: Catalog(app.db))
        let token = try await credentials.issueOperatorUploadToken(tenantID: TenantID(tenantID), hours: 1)
        guard let principal = try await credentials.authenticate(uploadToken: token) else { throw TestFailure("the operator token was refused") }
        return principal.scope
    }
}

extension Catalog {
    /// A tenant's audit events, newest first, read straight from the table (no scope is made, so
    /// reading leaves no event of its own).
    func auditEvents(of tenantID: TenantID, app: Application, limit: Int = 10_000) async throws -> [AuditRecord] {
        try await AuditEvent.query(on: app.db).filter(\.$tenantID == tenantID.uuid).sort(\.$occurredAt, .descending).sort(\.$sequence, .descending)
            .limit(limit).all().map(\.record)
    }
}
