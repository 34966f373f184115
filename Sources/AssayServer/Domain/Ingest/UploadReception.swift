import Foundation

/// ING-1 at the door: an upload whose token checked out is stored durably (spool fsync, then the
/// queue row, shared with concurrent uploads by `UploadIntake`) before it is acknowledged; the same
/// body again answers the first upload; a tenant that takes no uploads still answers a repeat.
public struct UploadReception: Sendable {
    let catalog: Catalog
    let intake: UploadIntake
    let quota: UploadQuota.Limits
    let now: @Sendable () -> Date

    public enum Answer: Sendable {
        /// Queued now.
        case accepted(UUID)
        /// This body was received before: what became of it.
        case repeated(UploadSummary)
    }

    public enum Refusal: Error, Equatable {
        case tenantNotAccepting
        case keyLocked
        /// Seen as a repeat, then not found (removed meanwhile).
        case vanished
    }

    func receive(_ bytes: [UInt8], sha256: String, from token: AuthenticatedUploadToken) async throws -> Answer {
        let scope = token.scope
        // A tenant that takes no uploads still answers a repeat of one it took (the console may
        // not have heard the first answer); an accepting tenant's repeats are found by the insert.
        if !token.tenantActive || token.keyLocked {
            if let existing = try await catalog.uploads.find(in: scope, sha256: sha256) { return .repeated(existing) }
            throw token.tenantActive ? Refusal.keyLocked : Refusal.tenantNotAccepting
        }
        // SEC-5: counted before anything is stored; past the quota, 429 and nothing kept.
        try await UploadQuota(catalog: catalog, limits: quota, now: now).admit(scope.tenantID, bytes: bytes.count)
        let receipt = try await intake.submit(
            UploadIntake.Submission(
                tenantID: scope.tenantID, userID: token.userID, sha256: sha256, bytes: bytes, spoolKey: "\(scope.tenantID.lowercased)/\(sha256)"))
        switch receipt {
        case .accepted(let id): return .accepted(id)
        case .duplicate:
            guard let existing = try await catalog.uploads.find(in: scope, sha256: sha256) else { throw Refusal.vanished }
            // A repeat of an upload already ingested: its body was removed then and was just
            // written again; nothing will read it.
            if existing.state == "done" { try? intake.spool.delete("\(scope.tenantID.lowercased)/\(sha256)") }
            return .repeated(existing)
        }
    }

    /// One upload of the token's tenant (another tenant's is as absent as one that does not exist).
    func status(of id: UUID, for token: AuthenticatedUploadToken) async throws -> UploadSummary? {
        try await catalog.uploads.find(id: id, in: token.scope)
    }
}
