import Foundation
import Vapor

/// AUTH-10: a state-changing request made with a session cookie must carry the session's CSRF token
/// in X-CSRF-Token (the pages put it in every form; the script sends it). Together with the Origin
/// check and SameSite=Lax this leaves a forged request nothing to ride on. Requests without a
/// session (sign-in, registration, the code) have no session to abuse and rely on the Origin check.
struct CSRFTokenMiddleware: AsyncMiddleware {
    static let header = "X-CSRF-Token"

    func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        guard [.POST, .PUT, .PATCH, .DELETE].contains(request.method), let user = request.auth.get(AuthenticatedUser.self) else {
            return try await next.respond(to: request)
        }
        guard let presented = request.headers.first(name: Self.header), !user.csrfToken.isEmpty,
            constantTimeEquals(Array(presented.utf8), Array(user.csrfToken.utf8))
        else {
            throw Abort(.forbidden, reason: "missing or wrong CSRF token: reload the page")
        }
        return try await next.respond(to: request)
    }
}
