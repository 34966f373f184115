import Foundation
import Vapor

/// Resolves the session cookie through `SessionLifecycle` (which enforces the 24-hour limit and
/// rotates the token), signs the request in, and counts unknown tokens per client (AUTH-8, AUTH-10).
struct SessionMiddleware: AsyncMiddleware {
    let policy: SessionLifecycle.Policy
    let trustedProxies: [String]
    let guesses: TokenGuessCounter
    let now: @Sendable () -> Date

    func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        guard let token = request.cookies[SessionCookie.session]?.string, !token.isEmpty else {
            return try await next.respond(to: request)
        }
        switch try await SessionLifecycle(catalog: request.catalog, now: now).resolve(token: token, policy: policy) {
        case .unknown:
            try await guesses.unknownToken(
                from: request.clientAddress(trustedProxies: trustedProxies), at: now(), catalog: request.catalog,
                logger: request.logger)
            return try await respondSignedOut(request, next)
        case .ended:
            return try await respondSignedOut(request, next)
        case .live(let session):
            request.auth.login(AuthenticatedUser(session: session))
            let response = try await next.respond(to: request)
            if let replacement = session.replacementToken {
                response.cookies[SessionCookie.session] = SessionCookie.value(replacement, expires: session.expiresAt)
            }
            return response
        }
    }

    private func respondSignedOut(_ request: Request, _ next: any AsyncResponder) async throws -> Response {
        let response = try await next.respond(to: request)
        response.cookies[SessionCookie.session] = SessionCookie.expired
        return response
    }
}
