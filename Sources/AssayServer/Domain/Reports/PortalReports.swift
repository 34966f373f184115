import Foundation

/// What the signed-in portal pages read, each for the session's own tenant only, and each view of
/// tenant data recorded in that tenant's audit log (SEC-4).
public struct PortalReports: Sendable {
    let catalog: Catalog
    let tenantDatabases: TenantDatabases
    let cache: AggregateCache
    let now: @Sendable () -> Date

    public struct Dashboard: Sendable {
        public let tenant: TenantRecord?
        /// Nil for a user without the read claim.
        public let aggregates: TenantAggregates?
    }

    public func dashboard(for session: LiveSession) async throws -> Dashboard {
        let scope = session.scope
        let tenant = try await catalog.tenants.find(scope.tenantID)
        guard !session.claims.isDisjoint(with: [.read, .admin]) else { return Dashboard(tenant: tenant, aggregates: nil) }
        let store = try await tenantDatabases.store(for: scope, catalog: catalog)
        let aggregates = try await cache.aggregates(for: scope) { try await store.reports.aggregates() }
        try await catalog.audit.recordView("inventory.viewed", by: session, detail: "dashboard", at: now())
        return Dashboard(tenant: tenant, aggregates: aggregates)
    }

    public struct UploadListing: Sendable {
        public let upload: UploadSummary
        /// The uploader's e-mail, or "operator" for an operator's token.
        public let uploader: String
    }

    /// Who uploaded what, when, and what became of it: the newest first.
    public func uploads(for session: LiveSession, limit: Int = 500) async throws -> [UploadListing] {
        let scope = session.scope
        let uploads = try await catalog.uploads.recent(in: scope, limit: limit)
        let emails = try await catalog.users.emails(in: scope)
        try await catalog.audit.recordView("uploads.viewed", by: session, at: now())
        return uploads.map { UploadListing(upload: $0, uploader: $0.userID.flatMap { emails[$0] } ?? "operator") }
    }

    /// The tenant's published public key (KEY-1): what the console encrypts to.
    public func publicKey(for session: LiveSession, keyring: TenantKeyring) async throws -> TenantKeyRecord {
        let key = try await keyring.publicKey(tenantID: session.scope.tenantID)
        try await catalog.audit.recordView("key.public.downloaded", by: session, detail: "fingerprint=\(key.fingerprint)", at: now())
        return key
    }
}
