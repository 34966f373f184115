import Fluent
import Foundation
import Vapor

/// The signed-in user's own account: change the password, see and end their sessions (AUTH-8).
struct AccountController: Sendable {
    let hasher: PasswordHasher
    let limiter: HashingLimiter
    let mailer: any Mailer

    func register(_ routes: any RoutesBuilder) {
        let account = routes.grouped("account")
        account.post("password", use: changePassword)
        account.get("sessions", use: sessions)
        account.delete("sessions", ":sessionID", use: endSession)
    }

    struct PasswordBody: Content {
        let currentPassword: String
        let newPassword: String
        let endOtherSessions: Bool
    }

    struct SessionSummary: Content {
        let id: UUID
        let createdAt: Date
        let expiresAt: Date
        let current: Bool
    }

    func changePassword(_ request: Request) async throws -> HTTPStatus {
        let me = try request.requireUser()
        let body = try request.content.decode(PasswordBody.self)
        guard body.currentPassword.utf8.count <= 1024, body.newPassword.utf8.count <= 1024 else { throw Abort(.badRequest, reason: "a field is too long") }
        guard let user = try await User.find(me.userID, on: request.db) else { throw Abort(.unauthorized) }
        let hasher = self.hasher
        let stored = user.passwordHash
        let current = body.currentPassword
        guard await limiter.run({ hasher.verify(current, against: stored) }) != .mismatch else {
            try await AuditLog(database: request.db).append(tenantID: me.tenantID, actor: "user:\(me.userID)", action: "password.change.refused",
                                                            subject: "user:\(me.userID)")
            throw Abort(.forbidden, reason: "the current password is not right")
        }
        let problems = PasswordPolicy.violations(body.newPassword, email: user.email)
        guard problems.isEmpty else {
            throw Abort(.badRequest, reason: "the new password needs a change: " + problems.map(\.description).joined(separator: "; "))
        }
        let fresh = body.newPassword
        user.passwordHash = try await limiter.run { try hasher.hash(fresh) }
        try await user.save(on: request.db)
        if body.endOtherSessions {
            try await Session.query(on: request.db).filter(\.$user.$id == me.userID).filter(\.$id != me.sessionID).delete()
        }
        try await AuditLog(database: request.db).append(tenantID: me.tenantID, actor: "user:\(me.userID)", action: "password.changed",
                                                        subject: "user:\(me.userID)", detail: "other sessions ended=\(body.endOtherSessions)")
        try await mailer.send(MailMessage(
            to: user.email, subject: "Your Assay password was changed",
            body: "The password of your Assay account was changed just now.\nIf this was not you, tell your administrator at once.",
            purpose: "password change confirmation"))
        return .noContent
    }

    func sessions(_ request: Request) async throws -> [SessionSummary] {
        let me = try request.requireUser()
        return try await Session.query(on: request.db).filter(\.$user.$id == me.userID).sort(\.$createdAt, .descending).all().map {
            SessionSummary(id: try $0.requireID(), createdAt: $0.createdAt, expiresAt: $0.expiresAt, current: try $0.requireID() == me.sessionID)
        }
    }

    func endSession(_ request: Request) async throws -> HTTPStatus {
        let me = try request.requireUser()
        guard let id = request.parameters.get("sessionID", as: UUID.self),
              let session = try await Session.query(on: request.db).filter(\.$id == id).filter(\.$user.$id == me.userID).first()
        else { throw Abort(.notFound) }
        try await session.delete(on: request.db)
        try await AuditLog(database: request.db).append(tenantID: me.tenantID, actor: "user:\(me.userID)", action: "session.ended",
                                                        subject: "session:\(id)")
        return .noContent
    }
}
