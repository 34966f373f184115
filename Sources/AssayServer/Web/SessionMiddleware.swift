import Fluent
import Foundation
import Vapor

enum SessionCookie {
    static let session = "__Host-assay-session"
    static let attempt = "__Host-assay-attempt"

    /// __Host-: Secure, Path=/, no Domain; HttpOnly; SameSite=Lax (AUTH-10).
    static func value(_ token: String, expires: Date?) -> HTTPCookies.Value {
        HTTPCookies.Value(string: token, expires: expires, maxAge: nil, domain: nil, path: "/",
                          isSecure: true, isHTTPOnly: true, sameSite: .lax)
    }

    static var expired: HTTPCookies.Value {
        HTTPCookies.Value(string: "", expires: Date(timeIntervalSince1970: 0), maxAge: 0, domain: nil, path: "/",
                          isSecure: true, isHTTPOnly: true, sameSite: .lax)
    }
}

/// Finds the session of the cookie, enforces the 24-hour absolute lifetime, replaces the token after
/// the rotation interval, and counts unknown tokens per client (AUTH-8, AUTH-10).
struct SessionMiddleware: AsyncMiddleware {
    let rotationSeconds: Int
    let trustedProxies: [String]
    let guesses: SessionGuessCounter
    let now: @Sendable () -> Date

    func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        guard let token = request.cookies[SessionCookie.session]?.string, !token.isEmpty else {
            return try await next.respond(to: request)
        }
        let time = now()
        let client = request.clientAddress(trustedProxies: trustedProxies)
        guard token.utf8.count <= 128,
              let session = try await Session.query(on: request.db).filter(\.$tokenHash == SecretToken.hash(token)).first() else {
            try await guesses.unknownToken(from: client, request: request, at: time)
            let response = try await next.respond(to: request)
            response.cookies[SessionCookie.session] = SessionCookie.expired
            return response
        }
        guard session.expiresAt > time, let user = try await User.find(session.$user.id, on: request.db), user.state == .active else {
            try await session.delete(on: request.db)
            let response = try await next.respond(to: request)
            response.cookies[SessionCookie.session] = SessionCookie.expired
            return response
        }
        var replacement: String?
        if time.timeIntervalSince(session.rotatedAt) >= Double(rotationSeconds) {
            let fresh = SecretToken(prefix: "ass_")
            session.tokenHash = fresh.hash
            session.rotatedAt = time
            try await session.save(on: request.db)
            replacement = fresh.value
        }
        request.auth.login(AuthenticatedUser(userID: try user.requireID(), tenantID: user.$tenant.id, email: user.email,
                                             claims: Claim.decode(user.claims), sessionID: try session.requireID(),
                                             csrfToken: session.csrfToken))
        let response = try await next.respond(to: request)
        if let replacement { response.cookies[SessionCookie.session] = SessionCookie.value(replacement, expires: session.expiresAt) }
        return response
    }
}

/// Counts unknown session tokens per client address. Past the threshold within the window it
/// records a security event once and slows that client down (AUTH-10). Per replica: a guesser
/// spread over replicas is still slowed on each.
actor SessionGuessCounter {
    let threshold: Int
    let window: TimeInterval
    private var counts: [String: (first: Date, count: Int, reported: Bool)] = [:]

    init(threshold: Int = 20, window: TimeInterval = 600) {
        self.threshold = threshold
        self.window = window
    }

    func unknownToken(from client: String, request: Request, at time: Date) async throws {
        var entry = counts[client] ?? (time, 0, false)
        if time.timeIntervalSince(entry.first) > window { entry = (time, 0, false) }
        entry.count += 1
        let shouldReport = entry.count >= threshold && !entry.reported
        if shouldReport { entry.reported = true }
        counts[client] = entry
        if counts.count > 100_000 { counts.removeAll() }
        if shouldReport {
            request.logger.warning("security event: unknown session tokens", metadata: ["client": .string(client), "count": .stringConvertible(entry.count)])
            try await AuditLog(database: request.db).append(tenantID: nil, actor: "client:\(client)", action: "security.session-token-guessing",
                                                            subject: "client:\(client)", detail: "unknown tokens=\(entry.count)", at: time)
        }
        if entry.count >= threshold {
            try await Task.sleep(nanoseconds: 500_000_000)
        }
    }

    func count(for client: String) -> Int { counts[client]?.count ?? 0 }
}

/// State-changing requests must come from our own origin (SEC-2, CSRF): the browser always sends
/// Origin on cross-site POSTs, and a missing or foreign one is refused.
struct OriginCheckMiddleware: AsyncMiddleware {
    let publicURL: String

    func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        guard [.POST, .PUT, .PATCH, .DELETE].contains(request.method) else { return try await next.respond(to: request) }
        guard let origin = request.headers.first(name: .origin), Self.origin(of: origin) == Self.origin(of: publicURL) else {
            throw Abort(.forbidden, reason: "cross-origin request refused")
        }
        return try await next.respond(to: request)
    }

    static func origin(of url: String) -> String? {
        guard let components = URLComponents(string: url), let scheme = components.scheme, let host = components.host else { return nil }
        let port = components.port.map { ":\($0)" } ?? ""
        return "\(scheme)://\(host)\(port)".lowercased()
    }
}

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
              constantTimeEquals(Array(presented.utf8), Array(user.csrfToken.utf8)) else {
            throw Abort(.forbidden, reason: "missing or wrong CSRF token: reload the page")
        }
        return try await next.respond(to: request)
    }
}
