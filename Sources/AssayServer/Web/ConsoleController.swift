import Foundation
import Vapor

/// The console's way in (CON-3, CON-4): the same password, lockout and code rules as the portal,
/// with a console fingerprint (machine id + IP), for users with the write claim only. Answers carry
/// a 90-day grant and a 12-hour upload token in the body; no cookie is set.
struct ConsoleController: Sendable {
    let hasher: PasswordHasher
    let limiter: HashingLimiter
    let emailPolicy: EmailPolicy
    let mailer: any Mailer
    let trustedProxies: [String]
    let now: @Sendable () -> Date

    func register(_ routes: any RoutesBuilder) {
        let console = routes.grouped("console")
        console.post("sign-in", use: signIn)
        console.post("code", use: code)
        console.post("token", use: exchange)
        console.post("revoke", use: revoke)
    }

    struct SignInBody: Content {
        let email: String
        let password: String
        /// The console machine's id (a hash of its machine-id): part of its fingerprint.
        let machineID: String
    }

    struct CodeBody: Content {
        let attempt: String
        let code: String
        let machineID: String
    }

    struct RevokeBody: Content {
        let grant: String
    }

    /// `assay logout`: the console's own grant family ends (204 whether or not it was known).
    func revoke(_ request: Request) async throws -> HTTPStatus {
        let body = try request.content.decode(RevokeBody.self)
        try await ConsoleCredentials(catalog: request.catalog, now: now).revokeOwn(grant: body.grant)
        return .noContent
    }

    struct ExchangeBody: Content {
        let grant: String
        var machineID: String?
    }

    struct Credentials: Content {
        let status: String
        let grant: String
        let grantExpiresAt: Date
        let uploadToken: String
        let uploadTokenExpiresAt: Date
        let tenantID: TenantID
        /// The tenant's published key (40 hex digits): a console refuses credentials for another key than its bundle's.
        let keyFingerprint: String
    }

    struct CodeSent: Content {
        let status: String
        let attempt: String
    }

    static func validMachine(_ id: String) -> Bool {
        (8...128).contains(id.count) && id.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
    }

    func accounts(_ request: Request, machine: String) -> AccountService {
        AccountService(
            catalog: request.catalog, mailer: mailer, hasher: hasher, limiter: limiter, emailPolicy: emailPolicy, now: now,
            channel: .console(machine: machine))
    }

    func fingerprint(_ request: Request, machine: String) -> ClientFingerprint {
        ClientFingerprint(ipAddress: request.clientAddress(trustedProxies: trustedProxies), browser: "assay-console", resolution: machine)
    }

    func signIn(_ request: Request) async throws -> Response {
        let body = try request.content.decode(SignInBody.self)
        guard body.email.utf8.count <= 254, body.password.utf8.count <= 1024 else { throw Abort(.badRequest, reason: "a field is too long") }
        guard Self.validMachine(body.machineID) else { throw Abort(.badRequest, reason: "machineID must be 8 to 128 letters, digits or dashes") }
        switch try await accounts(request, machine: body.machineID).signIn(
            email: body.email, password: body.password,
            fingerprint: fingerprint(request, machine: body.machineID))
        {
        case .signedIn(let grant): return try await credentials(request, grant: grant)
        case .codeSent(let attempt): return try await CodeSent(status: "code-sent", attempt: attempt).encodeResponse(status: .accepted, for: request)
        case .refused: throw Abort(.unauthorized, reason: "sign-in failed: the e-mail or password is wrong, the account is locked, or it lacks the write claim")
        }
    }

    func code(_ request: Request) async throws -> Response {
        let body = try request.content.decode(CodeBody.self)
        guard body.attempt.utf8.count <= 128, body.code.utf8.count <= 32, Self.validMachine(body.machineID) else {
            throw Abort(.badRequest, reason: "attempt, code and machineID are needed")
        }
        switch try await accounts(request, machine: body.machineID).verifyCode(
            attemptToken: body.attempt, code: body.code,
            fingerprint: fingerprint(request, machine: body.machineID))
        {
        case .signedIn(let grant): return try await credentials(request, grant: grant)
        case .wrongCode(let remaining):
            let response = Response(status: .unauthorized)
            try response.content.encode(["status": "wrong-code", "remainingTries": "\(remaining)"])
            return response
        case .void: throw Abort(.gone, reason: "this sign-in attempt has ended: sign in again")
        }
    }

    private func credentials(_ request: Request, grant: SessionLifecycle.Grant) async throws -> Response {
        let upload = try await ConsoleCredentials(catalog: request.catalog, now: now).issueUploadToken(grantID: grant.sessionID)
        return try await Credentials(
            status: "signed-in", grant: grant.token, grantExpiresAt: grant.expiresAt, uploadToken: upload.token,
            uploadTokenExpiresAt: upload.expiresAt, tenantID: upload.tenantID, keyFingerprint: upload.keyFingerprint
        ).encodeResponse(for: request)
    }

    func exchange(_ request: Request) async throws -> Credentials {
        let body = try request.content.decode(ExchangeBody.self)
        if let machine = body.machineID, !Self.validMachine(machine) {
            throw Abort(.badRequest, reason: "machineID must be 8 to 128 letters, digits or dashes")
        }
        do {
            let issued = try await ConsoleCredentials(catalog: request.catalog, now: now).exchange(grant: body.grant, machine: body.machineID ?? "")
            return Credentials(
                status: "renewed", grant: issued.grant, grantExpiresAt: issued.grantExpiresAt, uploadToken: issued.uploadToken,
                uploadTokenExpiresAt: issued.uploadTokenExpiresAt, tenantID: issued.tenantID, keyFingerprint: issued.keyFingerprint)
        } catch let refusal as ConsoleCredentials.Refusal {
            throw Abort(.unauthorized, reason: refusal.description)
        }
    }
}
