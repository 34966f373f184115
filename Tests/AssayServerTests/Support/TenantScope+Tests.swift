import Foundation
import Vapor

@testable import AssayServer
import Fluent

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
    /// A tenant's audit events, read through a scope as the portal reads them.
    func auditEvents(of tenantID: TenantID, app: Application, limit: Int = 10_000) async throws -> [AuditRecord] {
        try await audit.events(in: try await TenantScope.forTests(tenantID.uuid, app: app), limit: limit)
    }
}
