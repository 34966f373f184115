import Foundation

/// Creating tenants and inviting their first administrator (ING-2, AUTH-1, AUTH-3).
public struct TenantService: Sendable {
    let catalog: Catalog
    let configuration: ServerConfiguration
    let mailer: any Mailer
    let emailPolicy: EmailPolicy
    /// Makes the tenant's key pair (KEY-1). The commands always pass one; tests of accounts alone may not.
    let keyring: TenantKeyring?
    let now: @Sendable () -> Date

    public init(
        catalog: Catalog, configuration: ServerConfiguration, mailer: any Mailer, emailPolicy: EmailPolicy, keyring: TenantKeyring? = nil,
        now: @escaping @Sendable () -> Date = Date.init
    ) {
        self.now = now
        self.catalog = catalog
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
        public let tenantID: TenantID
        public let name: String
        /// The link to send (the token travels in the fragment, which browsers never send to servers).
        public let invitationLink: String
    }

    public func create(name: String, region: String, adminEmail: String, actor: String = "operator") async throws -> Created {
        let trimmedName = name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (1...100).contains(trimmedName.count), !trimmedName.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw Failure.invalidName
        }
        guard configuration.region(region) != nil else {
            throw Failure.unknownRegion(region, known: configuration.regions.map(\.id))
        }
        let email: String
        do { email = try emailPolicy.validate(adminEmail) } catch { throw Failure.email(error) }

        let invitations = Invitations(publicURL: configuration.publicURL)
        let time = now()
        let (tenant, link): (TenantRecord, String)
        do {
            (tenant, link) = try await catalog.transaction { transaction in
                // `issue` checks the address; a refusal rolls the new tenant back with it.
                let tenant = try await transaction.tenants.create(name: trimmedName, region: region)
                let link = try await invitations.issue(in: transaction, tenantID: tenant.id, email: email, claims: Claim.allCases, invitedBy: actor, at: time)
                return (tenant, link)
            }
        } catch is Invitations.Refusal {
            // The operator, who creates tenants, may be told: no tenant's data is behind it.
            throw Failure.emailTaken
        }
        let audit = catalog.audit
        try await audit.append(
            tenantID: tenant.id, actor: actor, action: "tenant.created", subject: "tenant:\(tenant.id)", detail: "region=\(region)", at: now())
        if let keyring { try await keyring.createKey(tenantID: tenant.id, actor: actor) }
        try await audit.append(
            tenantID: tenant.id, actor: actor, action: "invitation.sent", subject: "email:\(email)", detail: "claims=\(Claim.encode(Claim.allCases))", at: now()
        )
        try await mailer.send(Invitations.message(to: email, link: link, organisation: trimmedName))
        return Created(tenantID: tenant.id, name: trimmedName, invitationLink: link)
    }
}
