import Foundation

/// Permission to touch one tenant's data. Only three things make one, each in this file: a live
/// portal session, an authenticated upload token, and an upload a worker has claimed. A tenant's
/// database is handed out only for a scope (`TenantDatabases.store(for:)`), so a handler that reads
/// tenant data cannot be written without one, and never from an id found in the request.
public struct TenantScope: Sendable, Hashable {
    public let tenantID: TenantID

    fileprivate init(_ tenantID: TenantID) { self.tenantID = tenantID }

    /// The tenant of a session that `SessionLifecycle.resolve` found live.
    init(session: LiveSession) { self.init(session.tenantID) }

    /// The tenant of an upload token that `ConsoleCredentials.authenticate` accepted.
    init(uploadToken: AuthenticatedUploadToken) { self.init(uploadToken.tenantID) }

    /// The tenant of an upload this worker claimed from the queue.
    init(claimedUpload: ClaimedUpload) { self.init(claimedUpload.tenantID) }
}
