import Foundation

extension AuditLog {
    /// SEC-4: every view or export of a tenant's data goes into that tenant's audit log.
    func recordView(_ action: String, by session: LiveSession, detail: String = "", at time: Date) async throws {
        try await append(tenantID: session.tenantID, actor: session.actor, action: action, subject: "tenant:\(session.tenantID)", detail: detail, at: time)
    }
}
