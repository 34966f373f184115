import Fluent
import FluentPostgresDriver
import Foundation
import SQLKit
import Testing
import Vapor
import VaporTesting

@testable import AssayServer

@Suite("Service foundation")
struct ServiceTests {
    @Test("health and readiness answer with the security headers and no server fingerprint", arguments: CatalogBackend.testable)
    func health(backend: CatalogBackend) async throws {
        try await withTestApp(backend) { app, _ in
            try await app.testing().test(
                .GET, "health",
                afterResponse: { response in
                    #expect(response.status == .ok)
                    #expect(response.body.string.contains("\"ok\""))
                    #expect(response.headers.first(name: "Content-Security-Policy")?.contains("frame-ancestors 'none'") == true)
                    #expect(response.headers.first(name: "Content-Security-Policy")?.contains("unsafe-inline") == false)
                    #expect(response.headers.first(name: "X-Content-Type-Options") == "nosniff")
                    #expect(response.headers.first(name: "Referrer-Policy") == "no-referrer")
                    #expect(response.headers.first(name: .cacheControl) == "no-store")
                    #expect(response.headers.first(name: .server) == nil)
                    #expect(response.headers.first(name: "X-Request-ID") != nil)
                })
            try await app.testing().test(
                .GET, "ready",
                afterResponse: { response in
                    #expect(response.status == .ok)
                })
        }
    }

    @Test("errors are JSON with a request id and no internals")
    func errors() async throws {
        try await withTestApp { app, _ in
            try await app.testing().test(
                .GET, "no/such/page",
                afterResponse: { response in
                    #expect(response.status == .notFound)
                    let body = try response.content.decode(ErrorResponseMiddleware.Body.self)
                    #expect(body.requestID == response.headers.first(name: "X-Request-ID"))
                    #expect(!response.body.string.contains("swift"))
                })
        }
    }

    @Test("a database out of reach or out of connections answers 503 with Retry-After, not 500")
    func unavailable() async throws {
        try await withTestApp { app, _ in
            app.get("test", "pool") { _ -> String in throw ConnectionPoolTimeoutError.connectionRequestTimeout }
            // A real refused connection: nothing listens on port 1.
            app.get("test", "refused") { request -> String in
                let configuration = PostgresConnection.Configuration(host: "127.0.0.1", port: 1, username: "assay", password: nil, database: nil, tls: .disable)
                _ = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: request.logger)
                return "connected?"
            }
            app.get("test", "bug") { _ -> String in throw CancellationError() }
            for path in ["test/pool", "test/refused"] {
                try await app.testing().test(
                    .GET, path,
                    afterResponse: { response in
                        #expect(response.status == .serviceUnavailable, "\(path)")
                        #expect(response.headers.first(name: .retryAfter) == "5")
                        let body = try? response.content.decode(ErrorResponseMiddleware.Body.self)
                        #expect(body?.error.contains("try again") == true)
                    })
            }
            try await app.testing().test(
                .GET, "test/bug",
                afterResponse: { response in
                    #expect(response.status == .internalServerError && response.headers.first(name: .retryAfter) == nil)
                })
        }
    }

    @Test("portal pages and their one script are served with the strict CSP; nothing else from disk")
    func portalPages() async throws {
        try await withTestApp { app, _ in
            for page in ["signin", "register", "code"] {
                try await app.testing().test(
                    .GET, page,
                    afterResponse: { response in
                        #expect(response.status == .ok)
                        #expect(response.headers.contentType?.subType == "html")
                        #expect(response.body.string.contains("<script src=\"/assets/app.js\" defer></script>"))
                        #expect(!response.body.string.contains("onclick") && !response.body.string.contains("<script>"))
                        #expect(response.headers.first(name: "Content-Security-Policy")?.contains("script-src 'self'") == true)
                    })
            }
            try await app.testing().test(
                .GET, "assets/app.js",
                afterResponse: { response in
                    #expect(response.status == .ok && response.headers.contentType?.subType == "javascript")
                })
            for probe in ["assets/../Package.swift", "assets/%2e%2e%2fPackage.swift", "Resources/Public/signin.html", "assets/other.js"] {
                try await app.testing().test(
                    .GET, probe,
                    afterResponse: { response in
                        #expect(response.status == .notFound, "\(probe)")
                    })
            }
            try await app.testing().test(
                .GET, "/",
                afterResponse: { response in
                    #expect(response.status == .seeOther && response.headers.first(name: .location) == "/dashboard")
                })
        }
    }

    @Test("every catalog migration reverts for real, and migrates again", arguments: CatalogBackend.testable)
    func migrationsRevert(backend: CatalogBackend) async throws {
        try await withTestApp(backend) { app, _ in
            _ = try await TenantService(
                catalog: Catalog(app.db), configuration: app.assayConfiguration, mailer: MemoryMailer(), emailPolicy: try EmailPolicy.bundled()
            )
            .create(name: "Acme", region: "eu-west", adminEmail: "jane.doe@acme.example")
            try await app.catalogMigrator.revertAll()
            let sql = try #require(app.db as? any SQLDatabase)
            for table in [Tenant.schema, User.schema, Invitation.schema, AuditEvent.schema, Session.schema] {
                await #expect(throws: (any Error).self, "\(table) should be gone") { try await sql.raw("SELECT count(*) FROM \(ident: table)").run() }
            }
            try await app.migrateCatalog()
            #expect(try await Tenant.query(on: app.db).count() == 0)
            #expect(try await Session.query(on: app.db).count() == 0)
        }
    }

    @Test("unused methods answer 405 with Allow")
    func methodNotAllowed() async throws {
        try await withTestApp { app, _ in
            try await app.testing().test(
                .POST, "health",
                afterResponse: { response in
                    #expect(response.status == .methodNotAllowed)
                    #expect(response.headers.first(name: .allow) == "GET")
                })
            try await app.testing().test(
                .DELETE, "ready",
                afterResponse: { response in
                    #expect(response.status == .methodNotAllowed)
                })
        }
    }

    @Test("creating a tenant: GUID, region, invitation stored hashed, mail in the outbox, audit events", arguments: CatalogBackend.testable)
    func createTenant(backend: CatalogBackend) async throws {
        try await withTestApp(backend) { app, configuration in
            let service = TenantService(catalog: Catalog(app.db), configuration: configuration, mailer: app.mailer, emailPolicy: try EmailPolicy.bundled())
            let created = try await service.create(name: "Acme Corp", region: "eu-west", adminEmail: "Jane.Doe@Acme.example")
            let tenant = try #require(try await Tenant.find(created.tenantID.uuid, on: app.db))
            #expect(tenant.region == "eu-west")
            #expect(tenant.state == .active)
            let token = String(created.invitationLink.split(separator: "#").last ?? "")
            #expect(token.hasPrefix("asi_"))
            #expect(created.invitationLink.hasPrefix(configuration.publicURL + "/register#"))
            let invitation = try #require(try await Invitation.query(on: app.db).first())
            #expect(invitation.email == "jane.doe@acme.example")
            #expect(invitation.tokenHash == SecretToken.hash(token))
            #expect(invitation.expiresAt.timeIntervalSinceNow > 47 * 3600 && invitation.expiresAt.timeIntervalSinceNow <= 48 * 3600)
            #expect(Claim.decode(invitation.claims) == Set(Claim.allCases))
            // The raw token is nowhere in the catalog.
            if backend == .sqlite {
                let catalog = try Data(contentsOf: URL(fileURLWithPath: configuration.dataDirectory + "/catalog.sqlite"))
                #expect(catalog.range(of: Data(token.utf8)) == nil)
            }
            // The mail carries the link.
            let outbox = configuration.dataDirectory + "/outbox"
            let mails = try FileManager.default.contentsOfDirectory(atPath: outbox)
            #expect(mails.count == 1)
            let mail = try String(contentsOfFile: outbox + "/" + mails[0], encoding: .utf8)
            #expect(mail.contains(created.invitationLink))
            #expect(mail.contains("To: jane.doe@acme.example"))
            let events = try await Catalog(app.db).auditEvents(of: TenantID(try tenant.requireID()), app: app)
            #expect(events.map(\.action).sorted() == ["invitation.sent", "tenant.created"])
        }
    }

    @Test("tenant creation refuses unknown regions, public mail, duplicate e-mail (any case) and bad names", arguments: CatalogBackend.testable)
    func createTenantRefusals(backend: CatalogBackend) async throws {
        try await withTestApp(backend) { app, configuration in
            let service = TenantService(catalog: Catalog(app.db), configuration: configuration, mailer: app.mailer, emailPolicy: try EmailPolicy.bundled())
            await #expect(throws: TenantService.Failure.unknownRegion("mars-1", known: ["eu-west", "us-west"])) {
                try await service.create(name: "A", region: "mars-1", adminEmail: "a@corp.example")
            }
            await #expect(throws: TenantService.Failure.email(.publicProvider("gmail.com"))) {
                try await service.create(name: "A", region: "eu-west", adminEmail: "a@gmail.com")
            }
            await #expect(throws: TenantService.Failure.invalidName) {
                try await service.create(name: "  ", region: "eu-west", adminEmail: "a@corp.example")
            }
            _ = try await service.create(name: "A", region: "eu-west", adminEmail: "a@corp.example")
            await #expect(throws: TenantService.Failure.emailTaken) {
                try await service.create(name: "B", region: "us-west", adminEmail: "A@CORP.example")
            }
            #expect(try await Tenant.query(on: app.db).count() == 1)
        }
    }

    @Test("editing an audit row breaks the chain, and verify names the event", arguments: CatalogBackend.testable)
    func auditChain(backend: CatalogBackend) async throws {
        try await withTestApp(backend) { app, _ in
            let log = Catalog(app.db).audit
            for index in 1...5 {
                try await log.append(tenantID: nil, actor: "test", action: "event.\(index)", subject: "s", at: Date())
            }
            let whole = try await log.verify()
            #expect(whole.count == 5 && whole.break == nil)
            let third = try #require(try await AuditEvent.query(on: app.db).filter(\.$sequence == 3).first())
            third.detail = "edited"
            try await third.save(on: app.db)
            #expect(try await log.verify().break == .hashMismatch(sequence: 3))
            third.detail = ""
            try await third.save(on: app.db)
            #expect(try await log.verify().break == nil)
            try await AuditEvent.query(on: app.db).filter(\.$sequence == 2).delete()
            #expect(try await log.verify().break == .gap(expected: 2, found: 3))
        }
    }

    @Test("concurrent appends keep one unbroken chain", arguments: CatalogBackend.testable)
    func concurrentAudit(backend: CatalogBackend) async throws {
        try await withTestApp(backend) { app, _ in
            let log = Catalog(app.db).audit
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<20 {
                    group.addTask { try await log.append(tenantID: nil, actor: "t\(index)", action: "a", subject: "s", at: Date()) }
                }
                try await group.waitForAll()
            }
            let result = try await log.verify()
            #expect(result.count == 20 && result.break == nil)
        }
    }
}

@Suite("Configuration")
struct ConfigurationTests {
    @Test("production refuses to start without each required setting, naming it")
    func production() {
        var environment = ["ASSAY_ENV": "production"]
        #expect(throws: ServerConfiguration.Invalid(description: "production needs DATABASE_URL (the PostgreSQL URL of the catalog)")) {
            try ServerConfiguration.load(environment: environment)
        }
        environment["DATABASE_URL"] = "postgres://assay@db/catalog"
        #expect(throws: ServerConfiguration.Invalid(description: "production needs SMTP_URL (smtp://user:password@host:587, STARTTLS)")) {
            try ServerConfiguration.load(environment: environment)
        }
        environment["SMTP_URL"] = "smtp://mail:587"
        environment["PUBLIC_URL"] = "http://assay.example"
        #expect(throws: ServerConfiguration.Invalid(description: "production needs PUBLIC_URL with https://")) {
            try ServerConfiguration.load(environment: environment)
        }
        environment["PUBLIC_URL"] = "https://assay.example"
        #expect(
            throws: ServerConfiguration.Invalid(description: "production needs TLS_CERT and TLS_KEY, or TRUSTED_PROXIES when a reverse proxy terminates TLS")
        ) {
            try ServerConfiguration.load(environment: environment)
        }
        environment["TRUSTED_PROXIES"] = "10.0.0.5"
        #expect(throws: ServerConfiguration.Invalid(description: "production needs ASSAY_KEK_FILE (or ASSAY_KEK): the key that wraps tenant secret keys")) {
            try ServerConfiguration.load(environment: environment)
        }
        environment["ASSAY_KEK_FILE"] = "/etc/assay/kek"
        environment["ASSAY_REGIONS"] = "eu-west"
        #expect(throws: ServerConfiguration.Invalid(description: "production needs DATABASE_URL_EU_WEST for region eu-west")) {
            try ServerConfiguration.load(environment: environment)
        }
        environment["DATABASE_URL_EU_WEST"] = "postgres://assay@db-eu/postgres"
        // A PostgreSQL server on another machine only with TLS required (and so verified).
        #expect(
            throws: ServerConfiguration.Invalid(
                description: "DATABASE_URL reaches a PostgreSQL server on another machine without certificate verification: add ?sslmode=verify-full "
                    + "(TLS required, certificate and host name verified against the system's trust store)")
        ) {
            try ServerConfiguration.load(environment: environment)
        }
        environment["DATABASE_URL"] = "postgres://assay@db/catalog?sslmode=prefer"
        #expect(throws: ServerConfiguration.Invalid.self) { try ServerConfiguration.load(environment: environment) }
        environment["DATABASE_URL"] = "postgres://assay@db/catalog?sslmode=verify-full"
        #expect(throws: ServerConfiguration.Invalid.self) { try ServerConfiguration.load(environment: environment) }  // the region's still lacks it
        environment["DATABASE_URL_EU_WEST"] = "postgres://assay@db-eu/postgres?sslmode=verify-full"
        #expect(throws: Never.self) { try ServerConfiguration.load(environment: environment) }
        environment["DATABASE_URL"] = "postgres://assay@127.0.0.1:5432/catalog"  // on this machine: no TLS needed
        #expect(throws: Never.self) { try ServerConfiguration.load(environment: environment) }
    }

    @Test("layers: environment over config file over defaults")
    func layers() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("assay-config-\(UUID().uuidString).json")
        try Data(#"{"port": 9000, "host": "127.0.0.2", "regions": [{"id": "ca-east", "storage": "/srv/ca"}]}"#.utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let configuration = try ServerConfiguration.load(environment: ["ASSAY_CONFIG": file.path, "ASSAY_PORT": "9100"])
        #expect(configuration.port == 9100)
        #expect(configuration.host == "127.0.0.2")
        #expect(configuration.regions == [.init(id: "ca-east", storage: "/srv/ca")])
        #expect(configuration.publicURL == "http://127.0.0.2:9100")
        #expect(try ServerConfiguration.load(environment: [:]).host == "127.0.0.1")
        #expect(throws: ServerConfiguration.Invalid.self) { try ServerConfiguration.load(environment: ["ASSAY_PORT": "70000"]) }
        #expect(throws: ServerConfiguration.Invalid.self) { try ServerConfiguration.load(environment: ["ASSAY_REGIONS": "EU West"]) }
        #expect(throws: ServerConfiguration.Invalid.self) { try ServerConfiguration.load(environment: ["TLS_CERT": "/x"]) }
    }
}
