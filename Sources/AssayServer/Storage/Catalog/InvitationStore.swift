import FluentKit
import Foundation

/// An invitation as the domain sees it (AUTH-1, AUTH-3).
struct InvitationRecord: Sendable {
    let id: UUID
    let tenantID: TenantID
    let email: String
    let claims: [Claim]
    let expiresAt: Date
    let usedAt: Date?
}

/// The `invitations` table: the link's token only as its SHA-256.
struct InvitationStore: Sendable {
    let database: any Database

    /// Whom an address already belongs to, anywhere in the deployment (AUTH-2).
    enum AddressStatus: Sendable, Equatable {
        case free
        case account
        /// An invitation still open at the time asked.
        case pendingInvitation
    }

    func status(of email: String, at time: Date) async throws -> AddressStatus {
        if try await User.query(on: database).filter(\.$email == email.lowercased()).first() != nil { return .account }
        let pending = try await Invitation.query(on: database).filter(\.$email == email).filter(\.$usedAt == nil).filter(\.$expiresAt > time).first()
        return pending == nil ? .free : .pendingInvitation
    }

    func create(tenantID: TenantID, email: String, tokenHash: String, claims: [Claim], invitedBy: String, expiresAt: Date) async throws {
        try await Invitation(tenantID: tenantID.uuid, email: email, tokenHash: tokenHash, claims: claims, invitedBy: invitedBy, expiresAt: expiresAt)
            .create(on: database)
    }

    func find(tokenHash: String) async throws -> InvitationRecord? {
        guard let row = try await Invitation.query(on: database).filter(\.$tokenHash == tokenHash).first() else { return nil }
        return InvitationRecord(
            id: try row.requireID(), tenantID: TenantID(row.$tenant.id), email: row.email,
            claims: Array(Claim.decode(row.claims)), expiresAt: row.expiresAt, usedAt: row.usedAt)
    }

    /// Single use: only the first caller turns used_at from NULL (true for that caller alone).
    func markUsed(invitationID: UUID, at time: Date) async throws -> Bool {
        try await Invitation.query(on: database).filter(\.$id == invitationID).filter(\.$usedAt == nil).set(\.$usedAt, to: time).update()
        guard let fresh = try await Invitation.find(invitationID, on: database), let usedAt = fresh.usedAt else { return false }
        return abs(usedAt.timeIntervalSince(time)) < 0.001
    }
}
