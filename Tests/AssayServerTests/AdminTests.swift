import Fluent
import Foundation
import Testing
import Vapor
import VaporTesting

@testable import AssayServer

@Suite("Administration: claims, tenant isolation, re-authentication")
struct AdminTests {
    let flow = SessionHTTPTests()

    /// A user with a session made directly in the catalog; returns (user, cookie pair).
    func member(_ app: Application, tenantID: UUID, email: String, claims: [Claim]) async throws -> (User, String) {
        let user = User(
            tenantID: tenantID, email: email, name: "Member", phone: "+33612345678",
            passwordHash: try PasswordHasher(iterations: 1000).hash("Member-pass-1"), claims: claims)
        try await user.create(on: app.db)
        let token = SecretToken(prefix: "ass_")
        let session = Session(userID: try user.requireID(), tenantID: tenantID, tokenHash: token.hash, fingerprint: "test", now: Date())
        try await session.create(on: app.db)
        let cookie = "\(SessionCookie.session)=\(token.value)"
        CSRFTokens.remember(session.csrfToken, for: cookie)
        return (user, cookie)
    }

    @Test("a user without the admin claim gets 403 on every admin route", arguments: CatalogBackend.testable)
    func missingClaim(backend: CatalogBackend) async throws {
        try await withTestApp(backend) { app, configuration in
            let tenant = Tenant(name: "T", region: "eu-west")
            try await tenant.create(on: app.db)
            let (_, cookie) = try await member(app, tenantID: try tenant.requireID(), email: "reader@t.example", claims: [.read, .write])
            for (method, path) in [
                (HTTPMethod.GET, "api/v1/admin/users"), (.GET, "api/v1/admin/audit"), (.POST, "api/v1/admin/invitations"),
                (.POST, "api/v1/admin/users/\(UUID())/claims"), (.POST, "api/v1/admin/users/\(UUID())/unlock"),
            ] {
                try await app.testing().test(
                    method, path, headers: flow.headers(configuration, cookie: cookie),
                    afterResponse: { response in
                        #expect(response.status == .forbidden, "\(method) \(path)")
                    })
                try await app.testing().test(
                    method, path, headers: flow.headers(configuration),
                    afterResponse: { response in
                        #expect(response.status == .unauthorized, "\(method) \(path) without a session")
                    })
            }
        }
    }

    @Test("another tenant's user is 404 on every route, exactly like a user that does not exist", arguments: CatalogBackend.testable)
    func crossTenant(backend: CatalogBackend) async throws {
        try await withTestApp(backend) { app, configuration in
            let admin = try await flow.signedIn(app, configuration)
            let other = Tenant(name: "Other", region: "us-west")
            try await other.create(on: app.db)
            let (stranger, _) = try await member(app, tenantID: try other.requireID(), email: "bob@other.example", claims: [.read])
            let password = "Tr0ub4dor & 3 horses"
            let bodies: [(String, [String: String])] = [
                ("claims", [:]), ("disable", ["password": password]),
                ("unlock", ["password": password, "identityCheck": "called back on the number on file"]),
            ]
            for id in [try stranger.requireID(), UUID()] {
                for (action, body) in bodies {
                    try await app.testing().test(
                        .POST, "api/v1/admin/users/\(id)/\(action)", headers: flow.headers(configuration, cookie: admin),
                        beforeRequest: { request in
                            if action == "claims" {
                                try request.content.encode(ClaimsPayload(claims: ["admin"], password: password))
                            } else {
                                try request.content.encode(body)
                            }
                        },
                        afterResponse: { response in
                            #expect(response.status == .notFound, "\(action) on \(id)")
                        })
                }
            }
            try await app.testing().test(
                .GET, "api/v1/admin/users", headers: flow.headers(configuration, cookie: admin),
                afterResponse: { response in
                    #expect(response.status == .ok)
                    #expect(!response.body.string.contains("bob@other.example"))
                })
            let otherID = try other.requireID().uuidString
            try await app.testing().test(
                .GET, "api/v1/admin/audit", headers: flow.headers(configuration, cookie: admin),
                afterResponse: { response in
                    #expect(response.status == .ok)
                    #expect(!response.body.string.contains(otherID))
                })
            #expect(try await User.find(stranger.id, on: app.db)?.claims == "read")
        }
    }

    @Test("claim changes need the password again, end the user's sessions and are audited; unlock records the identity check")
    func sensitiveActions() async throws {
        try await withTestApp { app, configuration in
            let admin = try await flow.signedIn(app, configuration)
            let tenantID = try #require(try await Tenant.query(on: app.db).first()).requireID()
            let (colleague, colleagueCookie) = try await member(app, tenantID: tenantID, email: "sam@acme.example", claims: [.read])
            let path = "api/v1/admin/users/\(try colleague.requireID())"
            try await app.testing().test(
                .POST, path + "/claims", headers: flow.headers(configuration, cookie: admin),
                beforeRequest: { request in
                    try request.content.encode(ClaimsPayload(claims: ["read", "write"], password: "wrong password"))
                }, afterResponse: { response in #expect(response.status == .forbidden) })
            try await app.testing().test(
                .POST, path + "/claims", headers: flow.headers(configuration, cookie: admin),
                beforeRequest: { request in
                    try request.content.encode(ClaimsPayload(claims: ["read", "write"], password: "Tr0ub4dor & 3 horses"))
                }, afterResponse: { response in #expect(response.status == .noContent) })
            #expect(try await User.find(colleague.id, on: app.db)?.claims == "read,write")
            try await app.testing().test(
                .GET, "api/v1/me", headers: flow.headers(configuration, cookie: colleagueCookie),
                afterResponse: { response in
                    #expect(response.status == .unauthorized)  // the privilege change ended the session
                })
            colleague.lockedUntil = Date().addingTimeInterval(1000)
            try await colleague.save(on: app.db)
            try await app.testing().test(
                .POST, path + "/unlock", headers: flow.headers(configuration, cookie: admin),
                beforeRequest: { request in
                    try request.content.encode(["password": "Tr0ub4dor & 3 horses", "identityCheck": "short"])
                }, afterResponse: { response in #expect(response.status == .badRequest) })
            try await app.testing().test(
                .POST, path + "/unlock", headers: flow.headers(configuration, cookie: admin),
                beforeRequest: { request in
                    try request.content.encode(["password": "Tr0ub4dor & 3 horses", "identityCheck": "called Sam back on +33 6 12 34 56 78"])
                }, afterResponse: { response in #expect(response.status == .noContent) })
            #expect(try await User.find(colleague.id, on: app.db)?.lockedUntil == nil)
            let records = try await Catalog(app.db).auditEvents(of: TenantID(tenantID), app: app)
            #expect(records.contains { $0.action == "reauthentication.failed" })
            #expect(records.contains { $0.action == "claims.changed" && $0.detail == "claims=read,write" })
            #expect(records.contains { $0.action == "user.unlocked" && $0.detail.contains("called Sam back") })
            #expect(try await Catalog(app.db).audit.verify().break == nil)
        }
    }

    @Test("administrators invite work addresses only")
    func invitations() async throws {
        try await withTestApp { app, configuration in
            let admin = try await flow.signedIn(app, configuration)
            try await app.testing().test(
                .POST, "api/v1/admin/invitations", headers: flow.headers(configuration, cookie: admin),
                beforeRequest: { request in
                    try request.content.encode(InvitePayload(email: "pat@gmail.com", claims: ["read"]))
                }, afterResponse: { response in #expect(response.status == .badRequest) })
            try await app.testing().test(
                .POST, "api/v1/admin/invitations", headers: flow.headers(configuration, cookie: admin),
                beforeRequest: { request in
                    try request.content.encode(InvitePayload(email: "pat@acme.example", claims: ["read", "write"]))
                }, afterResponse: { response in #expect(response.status == .created) })
            try await app.testing().test(
                .POST, "api/v1/admin/invitations", headers: flow.headers(configuration, cookie: admin),
                beforeRequest: { request in
                    try request.content.encode(InvitePayload(email: "PAT@acme.example", claims: ["read"]))
                }, afterResponse: { response in #expect(response.status == .created, "a second invitation answers like any other") })
            let invitation = try #require(try await Invitation.query(on: app.db).filter(\.$email == "pat@acme.example").first())
            #expect(invitation.claims == "read,write")
            #expect(try await Invitation.query(on: app.db).filter(\.$email == "pat@acme.example").count() == 1)

            // An address with an account (here in another tenant) answers like any invitation; its
            // owner gets a notice by mail; the administrator's audit log reads like any invitation.
            let other = try await TenantService(
                catalog: Catalog(app.db), configuration: configuration, mailer: app.mailer, emailPolicy: try EmailPolicy.bundled()
            )
            .create(name: "Globex", region: "eu-west", adminEmail: "sam@globex.example")
            _ = try await AccountService(
                catalog: Catalog(app.db), mailer: app.mailer, hasher: PasswordHasher(iterations: 1000), limiter: HashingLimiter(limit: 1),
                emailPolicy: try EmailPolicy.bundled()
            ).register(
                invitationToken: String(other.invitationLink.split(separator: "#").last!), name: "Sam", phone: "+44 20 7946 0958",
                password: "Tr0ub4dor & 3 horses")
            try await app.testing().test(
                .POST, "api/v1/admin/invitations", headers: flow.headers(configuration, cookie: admin),
                beforeRequest: { request in
                    try request.content.encode(InvitePayload(email: "sam@globex.example", claims: ["read"]))
                }, afterResponse: { response in #expect(response.status == .created) })
            #expect(try await Invitation.query(on: app.db).filter(\.$email == "sam@globex.example").count() == 1)
            let outbox = configuration.dataDirectory + "/outbox"
            let notices = try FileManager.default.contentsOfDirectory(atPath: outbox).map { try String(contentsOfFile: outbox + "/" + $0, encoding: .utf8) }
                .filter { $0.contains("sam@globex.example") && $0.contains("already has an Assay account") }
            #expect(notices.count == 1)
            let acme = try #require(try await User.find(email: "jane.doe@acme.example", on: app.db)).$tenant.id
            let seen = try await Catalog(app.db).auditEvents(of: TenantID(acme), app: app).map(\.action)
            #expect(seen.filter { $0 == "invitation.sent" }.count >= 3)
            #expect(!seen.contains("invitation.not-issued"), "the administrator's log must not tell")
        }
    }
}

struct ClaimsPayload: Content {
    let claims: [String]
    let password: String
}

struct InvitePayload: Content {
    let email: String
    let claims: [String]
}
