import Foundation
import Vapor

/// The signed-in user as handlers see it. A handler that reads tenant data takes its tenant from
/// here (`request.requireTenant()`), never from the request's parameters or body.
public struct AuthenticatedUser: Authenticatable, Sendable {
    public let userID: UUID
    public let tenantID: UUID
    public let email: String
    public let claims: Set<Claim>
    public let sessionID: UUID
    /// What state-changing requests of this session must echo in X-CSRF-Token.
    let csrfToken: String
}

/// A tenant id that only authentication can produce.
public struct TenantScope: Sendable, Equatable {
    public let tenantID: UUID
    fileprivate init(_ tenantID: UUID) { self.tenantID = tenantID }
    /// Only for `TenantScope.forClaimedUpload` and upload tokens.
    init(ingestTenantID: UUID) { self.tenantID = ingestTenantID }
}

extension Request {
    public func requireUser() throws -> AuthenticatedUser {
        guard let user = auth.get(AuthenticatedUser.self) else { throw Abort(.unauthorized, reason: "sign in first") }
        return user
    }

    public func requireTenant() throws -> TenantScope { TenantScope(try requireUser().tenantID) }

    /// SEC-4: every view or export of a tenant's data goes into that tenant's audit log.
    func recordTenantView(_ action: String, detail: String = "") async throws {
        let user = try requireUser()
        try await AuditLog(database: db).append(tenantID: user.tenantID, actor: "user:\(user.userID)", action: action,
                                                subject: "tenant:\(user.tenantID)", detail: detail)
    }

    /// The client address: the peer, unless the peer is a trusted proxy (ING/SEC-1 deployments behind
    /// a reverse proxy); see `TrustedProxies.clientAddress`.
    func clientAddress(trustedProxies: [String]) -> String {
        TrustedProxies.clientAddress(peer: remoteAddress?.ipAddress ?? "unknown", forwardedFor: headers[.xForwardedFor], trusted: trustedProxies)
    }

    /// Browser family and major version from the User-Agent (AUTH-6), e.g. "Chrome 131".
    var browserFamily: String {
        let agent = headers.first(name: .userAgent) ?? ""
        for family in ["Edg", "OPR", "Firefox", "Chrome", "Safari"] {
            guard let range = agent.range(of: family + "/") else { continue }
            let version = agent[range.upperBound...].prefix { $0.isNumber }
            return "\(family == "Edg" ? "Edge" : family == "OPR" ? "Opera" : family) \(version)"
        }
        return "unknown"
    }
}

/// Routes declare the claim they need (AUTH-9); a signed-in user without it gets 403.
struct RequireClaim: AsyncMiddleware {
    let claim: Claim

    func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        let user = try request.requireUser()
        guard user.claims.contains(claim) || user.claims.contains(.admin) else {
            throw Abort(.forbidden, reason: "this needs the \(claim.rawValue) claim")
        }
        return try await next.respond(to: request)
    }
}
