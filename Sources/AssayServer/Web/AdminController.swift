import Foundation
import Vapor

/// Administration of one's own tenant (AUTH-9, AUTH-12): invite, list, change claims, disable,
/// unlock, read the audit log. Every query is scoped by the session's tenant; a user id of another
/// tenant answers 404 exactly like one that does not exist. Sensitive actions ask for the
/// administrator's password again.
struct AdminController: Sendable {
    let hasher: PasswordHasher
    let limiter: HashingLimiter
    let emailPolicy: EmailPolicy
    let mailer: any Mailer
    let publicURL: String
    let now: @Sendable () -> Date

    func administration(_ request: Request) -> TenantAdministration {
        TenantAdministration(
            catalog: request.catalog, hasher: hasher, limiter: limiter, emailPolicy: emailPolicy, mailer: mailer,
            publicURL: publicURL, now: now)
    }

    func register(_ routes: any RoutesBuilder) {
        let admin = routes.grouped("admin").grouped(RequireClaim(claim: .admin))
        admin.post("invitations", use: invite)
        admin.get("users", use: users)
        admin.post("users", ":userID", "claims", use: setClaims)
        admin.post("users", ":userID", "disable", use: disable)
        admin.post("users", ":userID", "unlock", use: unlock)
        admin.get("audit", use: audit)
        admin.get("consoles", use: consoles)
        admin.post("consoles", ":familyID", "revoke", use: revokeConsole)
    }

    struct InviteBody: Content {
        let email: String
        let claims: [Claim]
    }

    struct ClaimsBody: Content {
        let claims: [Claim]
        let password: String
    }

    struct ConfirmBody: Content {
        let password: String
    }

    struct UnlockBody: Content {
        /// How the administrator checked that the person asking is the user (AUTH-12), e.g.
        /// "called back on the phone number on file".
        let identityCheck: String
        let password: String
    }

    struct UserSummary: Content {
        let id: UUID
        let email: String
        let name: String
        let claims: [String]
        let state: String
        let locked: Bool
    }

    struct AuditEntry: Content {
        let sequence: Int64
        let occurredAt: Date
        let actor: String
        let action: String
        let subject: String
    }

    func invite(_ request: Request) async throws -> Response {
        let admin = try request.requireUser()
        let body = try request.content.decode(InviteBody.self)
        try await answering { try await administration(request).invite(email: body.email, claims: body.claims, by: admin.session) }
        return Response(status: .created)
    }

    func users(_ request: Request) async throws -> [UserSummary] {
        let admin = try request.requireUser()
        return try await administration(request).users(for: admin.session).map { UserSummary($0, at: now()) }
    }

    func setClaims(_ request: Request) async throws -> HTTPStatus {
        let admin = try request.requireUser()
        let body = try request.content.decode(ClaimsBody.self)
        let target = try targetUser(request)
        try await answering { try await administration(request).setClaims(of: target, to: body.claims, by: admin.session, password: body.password) }
        return .noContent
    }

    func disable(_ request: Request) async throws -> HTTPStatus {
        let admin = try request.requireUser()
        let body = try request.content.decode(ConfirmBody.self)
        let target = try targetUser(request)
        try await answering { try await administration(request).disable(target, by: admin.session, password: body.password) }
        return .noContent
    }

    func unlock(_ request: Request) async throws -> HTTPStatus {
        let admin = try request.requireUser()
        let body = try request.content.decode(UnlockBody.self)
        let target = try targetUser(request)
        try await answering {
            try await administration(request).unlock(target, identityCheck: body.identityCheck, by: admin.session, password: body.password)
        }
        return .noContent
    }

    func audit(_ request: Request) async throws -> [AuditEntry] {
        let admin = try request.requireUser()
        return try await administration(request).auditEvents(for: admin.session).map {
            AuditEntry(sequence: $0.sequence, occurredAt: $0.occurredAt, actor: $0.actor, action: $0.action, subject: $0.subject)
        }
    }

    struct ConsoleSummary: Content {
        let familyID: UUID
        let user: String
        let machine: String
        let signedInAt: Date
        let lastRenewedAt: Date
        let expiresAt: Date
    }

    func consoles(_ request: Request) async throws -> [ConsoleSummary] {
        let admin = try request.requireUser()
        return try await administration(request).consoles(for: admin.session).map {
            ConsoleSummary(
                familyID: $0.familyID, user: $0.userEmail, machine: $0.machine, signedInAt: $0.signedInAt, lastRenewedAt: $0.lastRenewedAt,
                expiresAt: $0.expiresAt)
        }
    }

    func revokeConsole(_ request: Request) async throws -> HTTPStatus {
        let admin = try request.requireUser()
        guard let family = request.parameters.get("familyID", as: UUID.self) else { throw Abort(.notFound) }
        try await answering { try await administration(request).revokeConsole(family, by: admin.session) }
        return .noContent
    }

    /// A user id that is not a UUID is as absent as one that does not exist.
    private func targetUser(_ request: Request) throws -> UUID {
        guard let id = request.parameters.get("userID", as: UUID.self) else { throw Abort(.notFound) }
        return id
    }

    /// The domain's refusals as HTTP answers.
    private func answering(_ action: () async throws -> Void) async throws {
        do {
            try await action()
        } catch let refusal as TenantAdministration.Refusal {
            switch refusal {
            case .noClaims, .email, .cannotDisableSelf, .identityCheckRequired: throw Abort(.badRequest, reason: refusal.description)
            case .passwordNotConfirmed: throw Abort(.forbidden, reason: refusal.description)
            case .signedOut: throw Abort.signedOut(refusal.description)
            case .noSuchUser, .noSuchConsole: throw Abort(.notFound)
            }
        }
    }
}

extension AdminController.UserSummary {
    init(_ user: UserAccount, at time: Date) {
        self.init(
            id: user.id, email: user.email, name: user.name, claims: user.claims.sorted().map(\.rawValue), state: user.state.rawValue,
            locked: user.isLocked(at: time))
    }
}
