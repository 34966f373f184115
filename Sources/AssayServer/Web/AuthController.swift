import Foundation
import Vapor

/// Registration, two-step sign-in, sign-out and "who am I", as JSON over the public API. The portal
/// pages post to the same endpoints.
struct AuthController: Sendable {
    let hasher: PasswordHasher
    let limiter: HashingLimiter
    let emailPolicy: EmailPolicy
    let mailer: any Mailer
    let trustedProxies: [String]
    let now: @Sendable () -> Date

    /// Per request: the service works on the request's own database handle.
    func accounts(_ request: Request) -> AccountService {
        AccountService(catalog: request.catalog, mailer: mailer, hasher: hasher, limiter: limiter, emailPolicy: emailPolicy, now: now)
    }

    func register(_ routes: any RoutesBuilder) {
        let auth = routes.grouped("auth")
        auth.post("register", use: registerUser)
        auth.post("sign-in", use: signIn)
        auth.post("code", use: code)
        auth.post("sign-out", use: signOut)
        routes.get("me", use: me)
    }

    struct RegisterBody: Content {
        let token: String
        let name: String
        let phone: String
        let password: String
    }

    struct SignInBody: Content {
        let email: String
        let password: String
        /// Display resolution reported by the sign-in page, e.g. "1920x1080".
        let resolution: String
        /// Where the user was going; only a local path is honoured (see `LocalRedirect`).
        var next: String?
    }

    struct CodeBody: Content {
        let code: String
        var next: String?
    }

    struct Status: Content {
        let status: String
        var remainingTries: Int?
        /// Where the page goes next: always a local path.
        var redirect: String?
    }

    struct Me: Content {
        let email: String
        let tenantID: TenantID
        let claims: [String]
        /// For the portal's script, which sends it back in X-CSRF-Token.
        let csrfToken: String
    }

    func registerUser(_ request: Request) async throws -> Response {
        let body = try request.content.decode(RegisterBody.self)
        guard body.token.utf8.count <= 128, body.password.utf8.count <= 1024 else { throw Abort(.badRequest, reason: "a field is too long") }
        do {
            _ = try await accounts(request).register(
                invitationToken: body.token, name: body.name, phone: body.phone, password: body.password,
                client: request.clientAddress(trustedProxies: trustedProxies))
        } catch let failure as AccountService.RegistrationFailure {
            throw Abort(failure == .invitationInvalid ? .gone : .badRequest, reason: failure.description)
        }
        return try await Status(status: "registered").encodeResponse(status: .created, for: request)
    }

    func signIn(_ request: Request) async throws -> Response {
        let body = try request.content.decode(SignInBody.self)
        guard body.email.utf8.count <= 254, body.password.utf8.count <= 1024 else { throw Abort(.badRequest, reason: "a field is too long") }
        guard Self.isResolution(body.resolution) else { throw Abort(.badRequest, reason: "resolution must look like 1920x1080") }
        let result = try await accounts(request).signIn(
            email: body.email, password: body.password, fingerprint: fingerprint(request, resolution: body.resolution))
        switch result {
        case .signedIn(let grant):
            let response = try await Status(status: "signed-in", redirect: LocalRedirect.sanitize(body.next)).encodeResponse(for: request)
            response.cookies[SessionCookie.session] = SessionCookie.value(grant.token, expires: grant.expiresAt)
            return response
        case .codeSent(let attempt):
            let response = try await Status(status: "code-sent", redirect: LocalRedirect.page("/code", next: body.next)).encodeResponse(
                status: .accepted, for: request)
            response.cookies[SessionCookie.attempt] = SessionCookie.value(attempt, expires: now().addingTimeInterval(AccountService.codeValidity))
            return response
        case .refused:
            throw Abort(.unauthorized, reason: "sign-in failed: the e-mail or password is wrong, or the account is locked")
        }
    }

    func code(_ request: Request) async throws -> Response {
        let body = try request.content.decode(CodeBody.self)
        guard let attempt = request.cookies[SessionCookie.attempt]?.string, attempt.utf8.count <= 128, body.code.utf8.count <= 32 else {
            throw Abort(.gone, reason: "this sign-in attempt has ended: sign in again")
        }
        let resolution = request.headers.first(name: "X-Display-Resolution") ?? ""
        guard Self.isResolution(resolution) else { throw Abort(.badRequest, reason: "X-Display-Resolution must look like 1920x1080") }
        switch try await accounts(request).verifyCode(attemptToken: attempt, code: body.code, fingerprint: fingerprint(request, resolution: resolution)) {
        case .signedIn(let grant):
            let response = try await Status(status: "signed-in", redirect: LocalRedirect.sanitize(body.next)).encodeResponse(for: request)
            response.cookies[SessionCookie.session] = SessionCookie.value(grant.token, expires: grant.expiresAt)
            response.cookies[SessionCookie.attempt] = SessionCookie.expired
            return response
        case .wrongCode(let remaining):
            return try await Status(status: "wrong-code", remainingTries: remaining).encodeResponse(status: .unauthorized, for: request)
        case .void:
            let response = try await Status(status: "sign-in-again").encodeResponse(status: .gone, for: request)
            response.cookies[SessionCookie.attempt] = SessionCookie.expired
            return response
        }
    }

    func signOut(_ request: Request) async throws -> Response {
        let user = try request.requireUser()
        try await SessionLifecycle(catalog: request.catalog, now: now).signOut(user.session)
        request.auth.logout(AuthenticatedUser.self)
        let response = Response(status: .noContent)
        response.cookies[SessionCookie.session] = SessionCookie.expired
        return response
    }

    func me(_ request: Request) async throws -> Me {
        let user = try request.requireUser()
        return Me(email: user.email, tenantID: user.tenantID, claims: user.claims.sorted().map(\.rawValue), csrfToken: user.csrfToken)
    }

    private func fingerprint(_ request: Request, resolution: String) -> ClientFingerprint {
        ClientFingerprint(ipAddress: request.clientAddress(trustedProxies: trustedProxies), browser: request.browserFamily, resolution: resolution)
    }

    static func isResolution(_ text: String) -> Bool {
        let parts = text.split(separator: "x", omittingEmptySubsequences: false)
        return parts.count == 2 && parts.allSatisfy { (2...5).contains($0.count) && $0.allSatisfy(\.isNumber) }
    }
}
