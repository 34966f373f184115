import Foundation

/// Administration of one's own tenant (AUTH-9, AUTH-12): invite, list, change claims, disable,
/// unlock, read the audit log. Everything is scoped by the administrator's session: a user of
/// another tenant is as absent as one that does not exist. Sensitive actions ask for the
/// administrator's password again.
public struct TenantAdministration: Sendable {
    let catalog: Catalog
    let hasher: PasswordHasher
    let limiter: HashingLimiter
    let emailPolicy: EmailPolicy
    let mailer: any Mailer
    let publicURL: String
    let now: @Sendable () -> Date

    public enum Refusal: Error, Equatable, CustomStringConvertible {
        case noClaims
        case email(EmailPolicy.Rejection)
        case passwordNotConfirmed
        /// Three wrong answers: the administrator's account is locked and every session ended.
        case signedOut
        case noSuchUser
        case cannotDisableSelf
        case identityCheckRequired
        case noSuchConsole

        public var description: String {
            switch self {
            case .noClaims: "give at least one claim"
            case .email(let rejection): rejection.description
            case .passwordNotConfirmed: "confirm this change with your password"
            case .signedOut: "three wrong passwords: the account is locked for 30 minutes and you are signed out"
            case .noSuchUser: "no such user"
            case .cannotDisableSelf: "you cannot disable yourself"
            case .identityCheckRequired: "say how you checked the user's identity (10 to 500 characters)"
            case .noSuchConsole: "no such console"
            }
        }
    }

    public func invite(email rawEmail: String, claims: [Claim], by admin: LiveSession) async throws {
        guard !claims.isEmpty else { throw Refusal.noClaims }
        let email: String
        do { email = try emailPolicy.validate(rawEmail) } catch { throw Refusal.email(error) }
        let invitations = Invitations(publicURL: publicURL)
        let time = now()
        let message: MailMessage
        do {
            let link = try await catalog.transaction { transaction in
                try await invitations.issue(
                    in: transaction, tenantID: admin.tenantID, email: email, claims: claims, invitedBy: admin.userID.uuidString, at: time)
            }
            message = Invitations.message(to: email, link: link, organisation: nil)
        } catch Invitations.Refusal.addressTaken(let status) {
            // ASVS 7.2.1 / 2.2: the administrator gets the same answer (and the same audit event) as
            // for any invitation, and learns nothing about accounts in other tenants; the address's
            // owner is told by mail why nothing can be accepted. The reason goes to the operator's log.
            message = Invitations.notice(to: email, because: status)
            try await catalog.audit.append(
                tenantID: nil, actor: admin.actor, action: "invitation.not-issued", subject: "email-sha256:\(SecretToken.hash(email).prefix(16))",
                detail: status == .account ? "the address has an account" : "the address has a pending invitation", at: time)
        }
        try await catalog.audit.append(
            tenantID: admin.tenantID, actor: admin.actor, action: "invitation.sent", subject: "email:\(email)", detail: "claims=\(Claim.encode(claims))",
            at: now())
        try await mailer.send(message)
    }

    /// The tenant's users; the view is audited (SEC-4).
    public func users(for admin: LiveSession) async throws -> [UserAccount] {
        try await catalog.audit.recordView("users.viewed", by: admin, at: now())
        return try await catalog.users.all(in: admin.scope)
    }

    public func setClaims(of userID: UUID, to claims: [Claim], by admin: LiveSession, password: String) async throws {
        let target = try await authorize(admin, password: password, target: userID)
        try await catalog.users.setClaims(userID: target.id, to: claims)
        // A privilege change ends the user's sessions: the next sign-in gets a fresh token.
        try await SessionLifecycle(catalog: catalog, now: now).endAll(of: target.id)
        if Set(claims).isDisjoint(with: [.write, .admin]) {
            try await consoles.revokeAll(of: target.id, tenantID: admin.tenantID, actor: admin.actor, reason: "write claim removed")
        }
        try await catalog.audit.append(
            tenantID: admin.tenantID, actor: admin.actor, action: "claims.changed",
            subject: "user:\(target.id)", detail: "claims=\(Claim.encode(claims))", at: now())
    }

    public func disable(_ userID: UUID, by admin: LiveSession, password: String) async throws {
        let target = try await authorize(admin, password: password, target: userID)
        guard target.id != admin.userID else { throw Refusal.cannotDisableSelf }
        try await catalog.users.disable(userID: target.id)
        try await SessionLifecycle(catalog: catalog, now: now).endAll(of: target.id)
        try await consoles.revokeAll(of: target.id, tenantID: admin.tenantID, actor: admin.actor, reason: "user disabled")
        try await catalog.audit.append(tenantID: admin.tenantID, actor: admin.actor, action: "user.disabled", subject: "user:\(target.id)", at: now())
    }

    /// AUTH-12: only after the administrator says how the person's identity was checked.
    public func unlock(_ userID: UUID, identityCheck: String, by admin: LiveSession, password: String) async throws {
        let check = identityCheck.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (10...500).contains(check.count) else { throw Refusal.identityCheckRequired }
        let target = try await authorize(admin, password: password, target: userID)
        try await catalog.users.unlock(userID: target.id)
        try await catalog.audit.append(
            tenantID: admin.tenantID, actor: admin.actor, action: "user.unlocked",
            subject: "user:\(target.id)", detail: "identity checked: \(check)", at: now())
    }

    var consoles: ConsoleCredentials { ConsoleCredentials(catalog: catalog, now: now) }

    /// A console of the tenant as administrators see it (CON-3).
    public struct ConsoleListing: Sendable {
        public let familyID: UUID
        public let userEmail: String
        public let machine: String
        public let signedInAt: Date
        public let lastRenewedAt: Date
        public let expiresAt: Date
    }

    /// The tenant's consoles whose grant still works; the view is audited.
    public func consoles(for admin: LiveSession) async throws -> [ConsoleListing] {
        try await catalog.audit.recordView("consoles.viewed", by: admin, at: now())
        let emails = try await catalog.users.emails(in: admin.scope)
        return try await catalog.consoleCredentials.liveFamilies(in: admin.scope, at: now()).map {
            ConsoleListing(
                familyID: $0.familyID, userEmail: emails[$0.userID] ?? "", machine: $0.machine, signedInAt: $0.signedInAt,
                lastRenewedAt: $0.lastRenewedAt, expiresAt: $0.expiresAt)
        }
    }

    /// Ends one console of the tenant: its grants and upload tokens stop at once.
    public func revokeConsole(_ familyID: UUID, by admin: LiveSession) async throws {
        guard try await catalog.consoleCredentials.revokeFamily(familyID, in: admin.scope, at: now()) else { throw Refusal.noSuchConsole }
        try await catalog.audit.append(
            tenantID: admin.tenantID, actor: admin.actor, action: "console.grant.revoked", subject: "grant-family:\(familyID)", detail: "by an administrator",
            at: now())
    }

    /// The tenant's audit log, newest first; reading it is itself audited.
    public func auditEvents(for admin: LiveSession, limit: Int = 200) async throws -> [AuditRecord] {
        try await catalog.audit.recordView("audit.viewed", by: admin, at: now())
        return try await catalog.audit.events(in: admin.scope, limit: limit)
    }

    /// The password checked again, then the target user of the administrator's own tenant.
    private func authorize(_ admin: LiveSession, password: String, target userID: UUID) async throws -> UserAccount {
        do {
            _ = try await Reauthentication(catalog: catalog, hasher: hasher, limiter: limiter, mailer: mailer, now: now)
                .confirm(admin, password: password, failureAction: "reauthentication.failed", subject: "user:\(userID)")
        } catch Reauthentication.Refusal.sessionEnded {
            throw Refusal.signedOut
        } catch is Reauthentication.Refusal {
            throw Refusal.passwordNotConfirmed
        }
        guard let target = try await catalog.users.find(id: userID, in: admin.scope) else { throw Refusal.noSuchUser }
        return target
    }
}
