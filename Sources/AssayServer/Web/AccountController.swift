import Foundation
import Vapor

/// The signed-in user's own account: change the password, see and end their sessions (AUTH-8).
struct AccountController: Sendable {
    let hasher: PasswordHasher
    let limiter: HashingLimiter
    let emailPolicy: EmailPolicy
    let mailer: any Mailer
    let now: @Sendable () -> Date

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
        do {
            try await accounts(request).changePassword(
                of: me.session, current: body.currentPassword, new: body.newPassword,
                endOtherSessions: body.endOtherSessions)
        } catch let failure as AccountService.PasswordChangeFailure {
            switch failure {
            case .wrongCurrentPassword: throw Abort(.forbidden, reason: failure.description)
            case .weak: throw Abort(.badRequest, reason: failure.description)
            case .unknownUser: throw Abort(.unauthorized)
            case .signedOut: throw Abort.signedOut(failure.description)
            }
        }
        return .noContent
    }

    func sessions(_ request: Request) async throws -> [SessionSummary] {
        let me = try request.requireUser()
        return try await SessionLifecycle(catalog: request.catalog, now: now).sessions(of: me.session).map {
            SessionSummary(id: $0.id, createdAt: $0.createdAt, expiresAt: $0.expiresAt, current: $0.id == me.sessionID)
        }
    }

    func endSession(_ request: Request) async throws -> HTTPStatus {
        let me = try request.requireUser()
        guard let id = request.parameters.get("sessionID", as: UUID.self),
            try await SessionLifecycle(catalog: request.catalog, now: now).end(sessionID: id, by: me.session)
        else { throw Abort(.notFound) }
        return .noContent
    }

    private func accounts(_ request: Request) -> AccountService {
        AccountService(catalog: request.catalog, mailer: mailer, hasher: hasher, limiter: limiter, emailPolicy: emailPolicy, now: now)
    }
}
