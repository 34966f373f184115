import Foundation

/// Invitations (AUTH-1, AUTH-3), written once for both ways in: an operator creating a tenant with
/// its first administrator, and an administrator inviting a colleague.
struct Invitations: Sendable {
    let publicURL: String
    /// Single use, valid 48 hours.
    static let validity: TimeInterval = 48 * 3600

    enum Refusal: Error, Equatable {
        /// The address belongs to a user (of any tenant) or to an invitation still open.
        case addressTaken(InvitationStore.AddressStatus)
    }

    /// Records an invitation inside the caller's transaction; returns the link to mail (the token
    /// travels in the fragment, which browsers never send to servers).
    func issue(in catalog: Catalog, tenantID: TenantID, email: String, claims: [Claim], invitedBy: String, at time: Date) async throws -> String {
        let status = try await catalog.invitations.status(of: email, at: time)
        guard status == .free else { throw Refusal.addressTaken(status) }
        let token = SecretToken(prefix: "asi_")
        try await catalog.invitations.create(
            tenantID: tenantID, email: email, tokenHash: token.hash, claims: claims, invitedBy: invitedBy,
            expiresAt: time.addingTimeInterval(Self.validity))
        return "\(publicURL)/register#\(token.value)"
    }

    /// To the owner of an address that cannot take a new invitation: the inviting administrator is
    /// told nothing (they learn nothing about other tenants); the owner is.
    static func notice(to email: String, because status: InvitationStore.AddressStatus) -> MailMessage {
        let reason =
            status == .account
            ? "This address already has an Assay account, so it cannot accept another invitation. Sign in with that account, or ask the administrator to invite another address."
            : "This address already has an Assay invitation waiting, so a second one was not added. Use the link in the earlier mail, or ask for a new one once it expires."
        return MailMessage(
            to: email, subject: "An invitation to Assay you cannot accept",
            body: "Someone invited this address to Assay.\n\n\(reason)\n\nIf you did not expect this, ignore this message.", purpose: "invitation notice")
    }

    /// The invitation mail; `organisation` names the tenant for its first administrator.
    static func message(to email: String, link: String, organisation: String?) -> MailMessage {
        if let organisation {
            return MailMessage(
                to: email, subject: "You are invited to Assay (\(organisation))",
                body: """
                    You have been invited to administer \(organisation) in Assay.

                    Open this link within 48 hours to choose your password:
                    \(link)

                    If you did not expect this invitation, ignore this message.
                    """,
                purpose: "invitation")
        }
        return MailMessage(
            to: email, subject: "You are invited to Assay",
            body: "You have been invited to Assay.\n\nOpen this link within 48 hours to choose your password:\n\(link)\n",
            purpose: "invitation")
    }
}
