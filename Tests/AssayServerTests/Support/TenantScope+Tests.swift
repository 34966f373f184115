import Foundation

@testable import AssayServer

extension TenantScope {
    /// Tests reach a tenant database the way a worker does: through an upload claimed for it.
    static func forTests(_ tenantID: UUID) -> TenantScope {
        TenantScope(claimedUpload: ClaimedUpload(id: UUID(), tenantID: TenantID(tenantID), spoolKey: "", attempts: 0, createdAt: Date()))
    }
}
