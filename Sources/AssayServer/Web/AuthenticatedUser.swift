import Foundation
import Vapor

/// The signed-in user as handlers see it: a live session. A handler that reads tenant data takes
/// its scope from here (`request.requireTenant()`), never from the request's parameters or body.
public struct AuthenticatedUser: Authenticatable, Sendable {
    public let session: LiveSession

    public var userID: UUID { session.userID }
    public var tenantID: TenantID { session.tenantID }
    public var email: String { session.email }
    public var claims: Set<Claim> { session.claims }
    public var sessionID: UUID { session.sessionID }
    /// What state-changing requests of this session must echo in X-CSRF-Token.
    var csrfToken: String { session.csrfToken }
}

extension Request {
    public func requireUser() throws -> AuthenticatedUser {
        guard let user = auth.get(AuthenticatedUser.self) else { throw Abort(.unauthorized, reason: "sign in first") }
        return user
    }

    public func requireTenant() throws -> TenantScope { try requireUser().session.scope }

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
