import Foundation

/// Invitations (AUTH-1, AUTH-3), written once for both ways in: an operator creating a tenant with
/// its first administrator, and an administrator inviting a colleague.
struct Invitations: Sendable {
    let publicURL: String
    /// Single use, valid 48 hours.
    static let validity: TimeInterval = 48 * 3600

    enum Refusal: Error, Equatable { case addressTaken }

    /// Records an invitation inside the caller's transaction; returns the link to mail (the token
    /// travels in the fragment, which browsers never send to servers).
    func issue(in catalog: Catalog, tenantID: TenantID, email: String, claims: [Claim], invitedBy: String, at time: Date) async throws -> String {
        guard try await !catalog.invitations.isAddressTaken(email, at: time) else { throw Refusal.addressTaken }
        let token = SecretToken(prefix: "asi_")
        try await catalog.invitations.create(
            tenantID: tenantID, email: email, tokenHash: token.hash, claims: claims, invitedBy: invitedBy,
            expiresAt: time.addingTimeInterval(Self.validity))
        return "\(publicURL)/register#\(token.value)"
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
