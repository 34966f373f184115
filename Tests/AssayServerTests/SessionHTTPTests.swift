import Fluent
import Foundation
import NIOConcurrencyHelpers
import Testing
import Vapor
import VaporTesting

@testable import AssayServer

/// The CSRF token of each session cookie the tests hold, so that their POSTs carry it like the
/// portal's script does.
enum CSRFTokens {
    private static let tokens = NIOLockedValueBox([String: String]())
    static func remember(_ token: String, for cookie: String) { tokens.withLockedValue { $0[cookie] = token } }
    static func token(for cookie: String) -> String? { tokens.withLockedValue { $0[cookie] } }

    /// Asks /api/v1/me for the session's token, like the dashboard does.
    static func fetch(_ app: Application, _ headers: HTTPHeaders, cookie: String) async throws {
        try await app.testing().test(
            .GET, "api/v1/me", headers: headers,
            afterResponse: { response in
                if let me = try? response.content.decode(MeResponse.self) { remember(me.csrfToken, for: cookie) }
            })
    }

    struct MeResponse: Decodable { let csrfToken: String }
}

/// The sign-in flow over HTTP, with the real outbox mailer: the test reads the code from the mail file.
@Suite("Sessions over HTTP: cookies, code, rotation, expiry, sign-out, CSRF")
struct SessionHTTPTests {
    let chrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"

    func headers(_ configuration: ServerConfiguration, cookie: String? = nil) -> HTTPHeaders {
        var headers: HTTPHeaders = [
            "Origin": configuration.publicURL, "User-Agent": chrome, "Content-Type": "application/json",
            "X-Display-Resolution": "1920x1080",
        ]
        if let cookie {
            headers.add(name: .cookie, value: cookie)
            if let token = CSRFTokens.token(for: cookie) { headers.add(name: CSRFTokenMiddleware.header, value: token) }
        }
        return headers
    }

    func cookie(_ response: TestingHTTPResponse, _ name: String) -> (pair: String, header: String)? {
        guard let header = response.headers[.setCookie].first(where: { $0.hasPrefix(name + "=") }) else { return nil }
        return (String(header.split(separator: ";")[0]), header)
    }

    func latestCode(_ configuration: ServerConfiguration) throws -> String {
        let outbox = configuration.dataDirectory + "/outbox"
        // The code mail is the one with a "Your code:" line (mail files of one second sort randomly).
        let texts = try FileManager.default.contentsOfDirectory(atPath: outbox).map { try String(contentsOfFile: outbox + "/" + $0, encoding: .utf8) }
        let line = try #require(texts.flatMap { $0.split(whereSeparator: \.isNewline) }.first { $0.hasPrefix("Your code: ") })
        return String(line.dropFirst(11).prefix(7))
    }

    /// Registers from the invitation and signs in with the code; returns the session cookie pair.
    func signedIn(_ app: Application, _ configuration: ServerConfiguration) async throws -> String {
        let created = try await TenantService(
            catalog: Catalog(app.db), configuration: configuration, mailer: app.mailer, emailPolicy: try EmailPolicy.bundled()
        )
        .create(name: "Acme", region: "eu-west", adminEmail: "jane.doe@acme.example")
        let token = String(created.invitationLink.split(separator: "#").last!)
        try await app.testing().test(
            .POST, "api/v1/auth/register", headers: headers(configuration),
            beforeRequest: { request in
                try request.content.encode(["token": token, "name": "Jane Doe", "phone": "+44 20 7946 0958", "password": "Tr0ub4dor & 3 horses"])
            }, afterResponse: { response in #expect(response.status == .created) })
        var attempt = ""
        try await app.testing().test(
            .POST, "api/v1/auth/sign-in", headers: headers(configuration),
            beforeRequest: { request in
                try request.content.encode(["email": "jane.doe@acme.example", "password": "Tr0ub4dor & 3 horses", "resolution": "1920x1080"])
            },
            afterResponse: { response in
                #expect(response.status == .accepted)
                attempt = try #require(cookie(response, SessionCookie.attempt)).pair
            })
        let code = try latestCode(configuration)
        var session = ""
        try await app.testing().test(
            .POST, "api/v1/auth/code", headers: headers(configuration, cookie: attempt),
            beforeRequest: { request in
                try request.content.encode(["code": code])
            },
            afterResponse: { response in
                #expect(response.status == .ok)
                let set = try #require(cookie(response, SessionCookie.session))
                // AUTH-10: Secure, HttpOnly, SameSite=Lax, Path=/, __Host- prefix (so no Domain).
                #expect(
                    set.header.contains("Secure") && set.header.contains("HttpOnly") && set.header.contains("SameSite=Lax") && set.header.contains("Path=/"))
                #expect(!set.header.lowercased().contains("domain="))
                session = set.pair
            })
        try await CSRFTokens.fetch(app, headers(configuration, cookie: session), cookie: session)
        return session
    }

    @Test("invitation → registration → sign-in → code → /me → sign-out ends the session at once")
    func fullFlow() async throws {
        try await withTestApp { app, configuration in
            let session = try await signedIn(app, configuration)
            try await app.testing().test(
                .GET, "api/v1/me", headers: headers(configuration, cookie: session),
                afterResponse: { response in
                    #expect(response.status == .ok)
                    #expect(response.body.string.contains("jane.doe@acme.example"))
                    #expect(response.headers.first(name: .cacheControl) == "no-store")
                })
            try await app.testing().test(
                .POST, "api/v1/auth/sign-out", headers: headers(configuration, cookie: session),
                afterResponse: { response in
                    #expect(response.status == .noContent)
                })
            try await app.testing().test(
                .GET, "api/v1/me", headers: headers(configuration, cookie: session),
                afterResponse: { response in
                    #expect(response.status == .unauthorized)
                })
            #expect(try await Session.query(on: app.db).count() == 0)
        }
    }

    @Test("the token is replaced after the rotation interval; the old one works for a short grace, then stops; 24 hours is the end")
    func rotationAndExpiry() async throws {
        let clock = TestClock()
        // The idle timeout is set past the day so that only the absolute limit is tested here.
        try await withTestApp(now: { clock.now }, adjust: { $0.sessionIdleSeconds = 86_400 }) { app, configuration in
            let session = try await signedIn(app, configuration)
            clock.advance(16 * 60)
            var rotated = ""
            try await app.testing().test(
                .GET, "api/v1/me", headers: headers(configuration, cookie: session),
                afterResponse: { response in
                    #expect(response.status == .ok)
                    rotated = try #require(cookie(response, SessionCookie.session)).pair
                })
            #expect(rotated != session)
            try await app.testing().test(
                .GET, "api/v1/me", headers: headers(configuration, cookie: session),
                afterResponse: { response in
                    #expect(response.status == .ok, "the replaced token works during the grace")
                    #expect(cookie(response, SessionCookie.session) == nil, "the grace does not rotate again")
                })
            clock.advance(31)
            try await app.testing().test(
                .GET, "api/v1/me", headers: headers(configuration, cookie: session),
                afterResponse: { response in
                    #expect(response.status == .unauthorized)
                })
            clock.advance(24 * 3600 - 16 * 60 - 31 - 1)
            try await app.testing().test(
                .GET, "api/v1/me", headers: headers(configuration, cookie: rotated),
                afterResponse: { response in
                    #expect(response.status == .ok)
                })
            clock.advance(2)
            try await app.testing().test(
                .GET, "api/v1/me", headers: headers(configuration, cookie: rotated),
                afterResponse: { response in
                    #expect(response.status == .unauthorized)
                })
        }
    }

    @Test("20 requests at the rotation moment all get through; one of them rotates; nothing counts as a guess", arguments: CatalogBackend.testable)
    func rotationUnderParallelRequests(backend: CatalogBackend) async throws {
        let clock = TestClock()
        try await withTestApp(backend, now: { clock.now }) { app, configuration in
            let session = try await signedIn(app, configuration)
            clock.advance(16 * 60)
            // The page and its assets: 20 at once with the old cookie, then 20 more that left the
            // browser before the new cookie came back.
            func burst() async throws -> [(HTTPStatus, String?)] {
                try await withThrowingTaskGroup(of: (HTTPStatus, String?).self) { group in
                    for _ in 0..<20 {
                        group.addTask {
                            var outcome: (HTTPStatus, String?) = (.internalServerError, nil)
                            try await app.testing().test(
                                .GET, "api/v1/me", headers: headers(configuration, cookie: session),
                                afterResponse: { response in outcome = (response.status, cookie(response, SessionCookie.session)?.pair) })
                            return outcome
                        }
                    }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
            }
            let first = try await burst()
            clock.advance(2)
            let stragglers = try await burst()
            let results = first + stragglers
            #expect(results.allSatisfy { $0.0 == .ok }, "\(results.map(\.0.code))")
            let replacements = Set(results.compactMap(\.1))
            #expect(replacements.count == 1, "exactly one request rotates the token")
            #expect(try await AuditEvent.query(on: app.db).filter(\.$action == "security.session-token-guessing").count() == 0)
            try await app.testing().test(
                .GET, "api/v1/me", headers: headers(configuration, cookie: try #require(replacements.first)),
                afterResponse: { response in #expect(response.status == .ok) })
        }
    }

    @Test("a session unused for the idle timeout ends; one in use lives on", arguments: CatalogBackend.testable)
    func idleTimeout(backend: CatalogBackend) async throws {
        let clock = TestClock()
        try await withTestApp(backend, now: { clock.now }, adjust: { $0.sessionIdleSeconds = 3600 }) { app, configuration in
            var session = try await signedIn(app, configuration)
            for _ in 0..<3 {
                clock.advance(50 * 60)
                try await app.testing().test(
                    .GET, "api/v1/me", headers: headers(configuration, cookie: session),
                    afterResponse: { response in
                        #expect(response.status == .ok, "a session used every 50 minutes stays")
                        if let rotated = cookie(response, SessionCookie.session)?.pair { session = rotated }
                    })
            }
            clock.advance(3600 + 1)
            try await app.testing().test(
                .GET, "api/v1/me", headers: headers(configuration, cookie: session),
                afterResponse: { response in #expect(response.status == .unauthorized) })
            #expect(try await Session.query(on: app.db).count() == 0, "an idle session is deleted, not only refused")
        }
    }

    /// A second session from the same (now known) browser: no code needed.
    func secondSession(_ app: Application, _ configuration: ServerConfiguration, password: String = "Tr0ub4dor & 3 horses") async throws -> String {
        var pair = ""
        try await app.testing().test(
            .POST, "api/v1/auth/sign-in", headers: headers(configuration),
            beforeRequest: { request in
                try request.content.encode(["email": "jane.doe@acme.example", "password": password, "resolution": "1920x1080"])
            },
            afterResponse: { response in
                #expect(response.status == .ok)
                pair = cookie(response, SessionCookie.session)?.pair ?? ""
            })
        try await CSRFTokens.fetch(app, headers(configuration, cookie: pair), cookie: pair)
        return pair
    }

    @Test("changing the password needs the current one, follows the rules, can end the other sessions, and is confirmed by mail")
    func passwordChange() async throws {
        try await withTestApp { app, configuration in
            let first = try await signedIn(app, configuration)
            let second = try await secondSession(app, configuration)
            func change(_ current: String, _ new: String, endOthers: Bool) async throws -> HTTPStatus {
                var status = HTTPStatus.internalServerError
                try await app.testing().test(
                    .POST, "api/v1/account/password", headers: headers(configuration, cookie: first),
                    beforeRequest: { request in
                        try request.content.encode(PasswordChange(currentPassword: current, newPassword: new, endOtherSessions: endOthers))
                    }, afterResponse: { response in status = response.status })
                return status
            }
            #expect(try await change("not my password", "N3w passphrase!", endOthers: true) == .forbidden)
            #expect(try await change("Tr0ub4dor & 3 horses", "short", endOthers: true) == .badRequest)
            #expect(try await change("Tr0ub4dor & 3 horses", "N3w passphrase!", endOthers: true) == .noContent)
            try await app.testing().test(
                .GET, "api/v1/me", headers: headers(configuration, cookie: second),
                afterResponse: { response in
                    #expect(response.status == .unauthorized)  // the other session ended
                })
            try await app.testing().test(
                .GET, "api/v1/me", headers: headers(configuration, cookie: first),
                afterResponse: { response in
                    #expect(response.status == .ok)  // this one goes on
                })
            let outbox = configuration.dataDirectory + "/outbox"
            let mails = try FileManager.default.contentsOfDirectory(atPath: outbox).map { try String(contentsOfFile: outbox + "/" + $0, encoding: .utf8) }
            #expect(mails.contains { $0.contains("Subject: Your Assay password was changed") })
            #expect(!mails.joined().contains("N3w passphrase!"))
            #expect(try await secondSession(app, configuration, password: "N3w passphrase!").hasPrefix(SessionCookie.session))
        }
    }

    @Test("a user sees their own sessions and can end one; another user's session is 404")
    func ownSessions() async throws {
        try await withTestApp { app, configuration in
            let first = try await signedIn(app, configuration)
            let second = try await secondSession(app, configuration)
            var sessions: [SessionListing] = []
            try await app.testing().test(
                .GET, "api/v1/account/sessions", headers: headers(configuration, cookie: first),
                afterResponse: { response in
                    sessions = try response.content.decode([SessionListing].self)
                })
            #expect(sessions.count == 2 && sessions.filter(\.current).count == 1)
            let other = try #require(sessions.first { !$0.current })
            try await app.testing().test(
                .DELETE, "api/v1/account/sessions/\(other.id)", headers: headers(configuration, cookie: first),
                afterResponse: { response in
                    #expect(response.status == .noContent)
                })
            try await app.testing().test(
                .GET, "api/v1/me", headers: headers(configuration, cookie: second),
                afterResponse: { response in
                    #expect(response.status == .unauthorized)
                })
            try await app.testing().test(
                .DELETE, "api/v1/account/sessions/\(UUID())", headers: headers(configuration, cookie: first),
                afterResponse: { response in
                    #expect(response.status == .notFound)
                })
        }
    }

    @Test("a POST without our Origin is refused (CSRF)")
    func crossOrigin() async throws {
        try await withTestApp { app, configuration in
            var foreign = headers(configuration)
            foreign.replaceOrAdd(name: .origin, value: "https://evil.example")
            try await app.testing().test(
                .POST, "api/v1/auth/sign-in", headers: foreign,
                beforeRequest: { request in
                    try request.content.encode(["email": "a@b.example", "password": "x", "resolution": "1x1"])
                }, afterResponse: { response in #expect(response.status == .forbidden) })
            var none = headers(configuration)
            none.remove(name: .origin)
            try await app.testing().test(.POST, "api/v1/auth/sign-in", headers: none, afterResponse: { response in #expect(response.status == .forbidden) })
        }
    }

    @Test("a state-changing request with a session but without its CSRF token is refused", arguments: CatalogBackend.testable)
    func csrfToken(backend: CatalogBackend) async throws {
        try await withTestApp(backend) { app, configuration in
            let session = try await signedIn(app, configuration)
            let other = try await secondSession(app, configuration)
            let otherToken = try #require(CSRFTokens.token(for: other))
            for token in [nil, "", "csrf_wrong", otherToken] {
                var forged = headers(configuration, cookie: session)
                forged.remove(name: CSRFTokenMiddleware.header)
                if let token { forged.add(name: CSRFTokenMiddleware.header, value: token) }
                try await app.testing().test(
                    .POST, "api/v1/auth/sign-out", headers: forged,
                    afterResponse: { response in
                        #expect(response.status == .forbidden, "token \(token ?? "none")")
                        #expect(response.body.string.contains("CSRF"))
                    })
                try await app.testing().test(
                    .DELETE, "api/v1/account/sessions/\(UUID())", headers: forged,
                    afterResponse: { response in
                        #expect(response.status == .forbidden)
                    })
            }
            // Still signed in: nothing was done.
            #expect(try await Session.query(on: app.db).count() == 2)
            // The token survives a rotation of the cookie, so open pages keep working.
            try await app.testing().test(
                .POST, "api/v1/auth/sign-out", headers: headers(configuration, cookie: session),
                afterResponse: { response in
                    #expect(response.status == .noContent)
                })
            #expect(try await Session.query(on: app.db).count() == 1)
        }
    }

    @Test("many unknown session tokens from one client raise one security event")
    func guessing() async throws {
        try await withTestApp { app, configuration in
            for index in 0..<20 {
                try await app.testing().test(
                    .GET, "api/v1/me", headers: headers(configuration, cookie: "\(SessionCookie.session)=ass_guess\(index)"),
                    afterResponse: { response in
                        #expect(response.status == .unauthorized)
                    })
            }
            let events = try await AuditEvent.query(on: app.db).filter(\.$action == "security.session-token-guessing").count()
            #expect(events == 1)
        }
    }

    @Test("a wrong password answers like an unknown e-mail")
    func refusedIsGeneric() async throws {
        try await withTestApp { app, configuration in
            _ = try await signedIn(app, configuration)
            var bodies: [String] = []
            for email in ["jane.doe@acme.example", "nobody@acme.example"] {
                try await app.testing().test(
                    .POST, "api/v1/auth/sign-in", headers: headers(configuration),
                    beforeRequest: { request in
                        try request.content.encode(["email": email, "password": "Wrong-pass-1", "resolution": "1920x1080"])
                    },
                    afterResponse: { response in
                        #expect(response.status == .unauthorized)
                        bodies.append(try response.content.decode(ErrorResponseMiddleware.Body.self).error)
                    })
            }
            #expect(bodies[0] == bodies[1])
        }
    }
}

struct PasswordChange: Content {
    let currentPassword: String
    let newPassword: String
    let endOtherSessions: Bool
}

struct SessionListing: Content {
    let id: UUID
    let createdAt: Date
    let expiresAt: Date
    let current: Bool
}
