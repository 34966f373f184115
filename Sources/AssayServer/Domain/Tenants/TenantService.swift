import Fluent
import Foundation

/// Creating tenants and inviting their first administrator (ING-2, AUTH-1, AUTH-3).
public struct TenantService: Sendable {
    let database: any Database
    let configuration: ServerConfiguration
    let mailer: any Mailer
    let emailPolicy: EmailPolicy
    /// Makes the tenant's key pair (KEY-1). The commands always pass one; tests of accounts alone may not.
    let keyring: TenantKeyring?

    public init(database: any Database, configuration: ServerConfiguration, mailer: any Mailer, emailPolicy: EmailPolicy, keyring: TenantKeyring? = nil) {
        self.database = database
        self.configuration = configuration
        self.mailer = mailer
        self.emailPolicy = emailPolicy
        self.keyring = keyring
    }

    public enum Failure: Error, Equatable, CustomStringConvertible {
        case invalidName
        case unknownRegion(String, known: [String])
        case email(EmailPolicy.Rejection)
        case emailTaken

        public var description: String {
            switch self {
            case .invalidName: "a tenant name has 1 to 100 characters and no control characters"
            case .unknownRegion(let region, let known): "region \(region) is not configured (known: \(known.joined(separator: ", ")))"
            case .email(let rejection): rejection.description
            case .emailTaken: "that e-mail address already belongs to a user or a pending invitation"
            }
        }
    }

    public struct Created: Sendable {
        public let tenant: Tenant
        /// The link to send (the token travels in the fragment, which browsers never send to servers).
        public let invitationLink: String
    }

    public func create(name: String, region: String, adminEmail: String, actor: String = "operator") async throws -> Created {
        let trimmedName = name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (1 ... 100).contains(trimmedName.count), !trimmedName.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw Failure.invalidName
        }
        guard configuration.region(region) != nil else {
            throw Failure.unknownRegion(region, known: configuration.regions.map(\.id))
        }
        let email: String
        do { email = try emailPolicy.validate(adminEmail) } catch { throw Failure.email(error) }

        let token = SecretToken(prefix: "asi_")
        let tenant = Tenant(name: trimmedName, region: region)
        try await database.transaction { transaction in
            guard try await User.find(email: email, on: transaction) == nil,
                  try await Invitation.query(on: transaction).filter(\.$email == email).filter(\.$usedAt == nil)
                    .filter(\.$expiresAt > Date()).first() == nil
            else { throw Failure.emailTaken }
            try await tenant.create(on: transaction)
            let invitation = Invitation(tenantID: try tenant.requireID(), email: email, tokenHash: token.hash, claims: Claim.allCases,
                                        invitedBy: actor, expiresAt: Date().addingTimeInterval(Invitation.validity))
            try await invitation.create(on: transaction)
        }
        let audit = AuditLog(database: database)
        let tenantID = try tenant.requireID()
        try await audit.append(tenantID: tenantID, actor: actor, action: "tenant.created", subject: "tenant:\(tenantID)", detail: "region=\(region)")
        if let keyring { try await keyring.createKey(tenantID: tenantID, tenantName: trimmedName, actor: actor) }
        try await audit.append(tenantID: tenantID, actor: actor, action: "invitation.sent", subject: "email:\(email)", detail: "claims=\(Claim.encode(Claim.allCases))")
        let link = "\(configuration.publicURL)/register#\(token.value)"
        try await mailer.send(MailMessage(
            to: email,
            subject: "You are invited to Assay (\(trimmedName))",
            body: """
            You have been invited to administer \(trimmedName) in Assay.

            Open this link within 48 hours to choose your password:
            \(link)

            If you did not expect this invitation, ignore this message.
            """,
            purpose: "invitation"
        ))
        return Created(tenant: tenant, invitationLink: link)
    }
}
