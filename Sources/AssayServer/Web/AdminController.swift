import Fluent
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

    func register(_ routes: any RoutesBuilder) {
        let admin = routes.grouped("admin").grouped(RequireClaim(claim: .admin))
        admin.post("invitations", use: invite)
        admin.get("users", use: users)
        admin.post("users", ":userID", "claims", use: setClaims)
        admin.post("users", ":userID", "disable", use: disable)
        admin.post("users", ":userID", "unlock", use: unlock)
        admin.get("audit", use: audit)
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
        let scope = try request.requireTenant()
        let actor = try request.requireUser()
        let body = try request.content.decode(InviteBody.self)
        guard !body.claims.isEmpty else { throw Abort(.badRequest, reason: "give at least one claim") }
        let email: String
        do { email = try emailPolicy.validate(body.email) } catch { throw Abort(.badRequest, reason: error.description) }
        let token = SecretToken(prefix: "asi_")
        try await request.db.transaction { transaction in
            guard try await User.find(email: email, on: transaction) == nil,
                  try await Invitation.query(on: transaction).filter(\.$email == email).filter(\.$usedAt == nil).filter(\.$expiresAt > Date()).first() == nil
            else { throw Abort(.conflict, reason: "that e-mail address already belongs to a user or a pending invitation") }
            try await Invitation(tenantID: scope.tenantID, email: email, tokenHash: token.hash, claims: body.claims,
                                 invitedBy: actor.userID.uuidString, expiresAt: Date().addingTimeInterval(Invitation.validity)).create(on: transaction)
        }
        try await AuditLog(database: request.db).append(tenantID: scope.tenantID, actor: "user:\(actor.userID)", action: "invitation.sent",
                                                        subject: "email:\(email)", detail: "claims=\(Claim.encode(body.claims))")
        try await mailer.send(MailMessage(to: email, subject: "You are invited to Assay",
                                          body: "You have been invited to Assay.\n\nOpen this link within 48 hours to choose your password:\n\(publicURL)/register#\(token.value)\n",
                                          purpose: "invitation"))
        return Response(status: .created)
    }

    func users(_ request: Request) async throws -> [UserSummary] {
        let scope = try request.requireTenant()
        try await request.recordTenantView("users.viewed")
        return try await Self.userSummaries(of: scope, on: request.db)
    }

    static func userSummaries(of scope: TenantScope, on database: any Database) async throws -> [UserSummary] {
        try await User.query(on: database).filter(\.$tenant.$id == scope.tenantID).sort(\.$email).all().map { user in
            UserSummary(id: try user.requireID(), email: user.email, name: user.name, claims: Claim.decode(user.claims).sorted().map(\.rawValue),
                        state: user.state.rawValue, locked: (user.lockedUntil ?? .distantPast) > Date())
        }
    }

    func setClaims(_ request: Request) async throws -> HTTPStatus {
        let body = try request.content.decode(ClaimsBody.self)
        let (actor, target) = try await authorize(request, password: body.password)
        target.claims = Claim.encode(body.claims)
        try await target.save(on: request.db)
        // A privilege change ends the user's sessions: the next sign-in gets a fresh token.
        try await Session.query(on: request.db).filter(\.$user.$id == target.requireID()).delete()
        try await AuditLog(database: request.db).append(tenantID: actor.tenantID, actor: "user:\(actor.userID)", action: "claims.changed",
                                                        subject: "user:\(try target.requireID())", detail: "claims=\(target.claims)")
        return .noContent
    }

    func disable(_ request: Request) async throws -> HTTPStatus {
        let body = try request.content.decode(ConfirmBody.self)
        let (actor, target) = try await authorize(request, password: body.password)
        guard try target.requireID() != actor.userID else { throw Abort(.badRequest, reason: "you cannot disable yourself") }
        target.state = .disabled
        try await target.save(on: request.db)
        try await Session.query(on: request.db).filter(\.$user.$id == target.requireID()).delete()
        try await AuditLog(database: request.db).append(tenantID: actor.tenantID, actor: "user:\(actor.userID)", action: "user.disabled",
                                                        subject: "user:\(try target.requireID())")
        return .noContent
    }

    func unlock(_ request: Request) async throws -> HTTPStatus {
        let body = try request.content.decode(UnlockBody.self)
        let check = body.identityCheck.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (10 ... 500).contains(check.count) else {
            throw Abort(.badRequest, reason: "say how you checked the user's identity (10 to 500 characters)")
        }
        let (actor, target) = try await authorize(request, password: body.password)
        target.lockedUntil = nil
        target.failedAttempts = 0
        target.state = .active
        try await target.save(on: request.db)
        try await AuditLog(database: request.db).append(tenantID: actor.tenantID, actor: "user:\(actor.userID)", action: "user.unlocked",
                                                        subject: "user:\(try target.requireID())", detail: "identity checked: \(check)")
        return .noContent
    }

    func audit(_ request: Request) async throws -> [AuditEntry] {
        let scope = try request.requireTenant()
        try await request.recordTenantView("audit.viewed")
        return try await AuditLog(database: request.db).events(tenantID: scope.tenantID).map {
            AuditEntry(sequence: $0.sequence, occurredAt: $0.occurredAt, actor: $0.actor, action: $0.action, subject: $0.subject)
        }
    }

    /// The acting administrator (password checked again) and the target user of the same tenant.
    private func authorize(_ request: Request, password: String) async throws -> (AuthenticatedUser, User) {
        let actor = try request.requireUser()
        let scope = try request.requireTenant()
        guard let actorRecord = try await User.find(actor.userID, on: request.db) else { throw Abort(.unauthorized) }
        let hasher = self.hasher
        let storedHash = actorRecord.passwordHash
        guard await limiter.run({ hasher.verify(password, against: storedHash) }) != .mismatch else {
            try await AuditLog(database: request.db).append(tenantID: scope.tenantID, actor: "user:\(actor.userID)", action: "reauthentication.failed",
                                                            subject: request.url.path)
            throw Abort(.forbidden, reason: "confirm this change with your password")
        }
        guard let id = request.parameters.get("userID", as: UUID.self),
              let target = try await User.query(on: request.db).filter(\.$id == id).filter(\.$tenant.$id == scope.tenantID).first()
        else { throw Abort(.notFound) }
        return (actor, target)
    }
}
