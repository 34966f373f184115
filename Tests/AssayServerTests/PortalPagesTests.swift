import Crypto
import Fluent
import Foundation
import OpenPGP
import Testing
import Vapor
import VaporTesting

@testable import AssayServer

@Suite("Portal pages: Leaf rendering, claims, CSRF in forms, local redirects")
struct PortalPagesTests {
    let flow = SessionHTTPTests()
    let admins = AdminTests()

    func page(_ configuration: ServerConfiguration, cookie: String? = nil) -> HTTPHeaders {
        var headers = flow.headers(configuration, cookie: cookie)
        headers.replaceOrAdd(name: .accept, value: "text/html")
        return headers
    }

    @Test("without a session every page sends the visitor to sign in, keeping a local next path")
    func redirects() async throws {
        try await withTestApp { app, configuration in
            for (path, target) in [
                ("dashboard", "/signin"), ("account", "/signin?next=/account"), ("admin/users", "/signin?next=/admin/users"),
                ("admin/audit", "/signin?next=/admin/audit"),
            ] {
                try await app.testing().test(
                    .GET, path, headers: page(configuration),
                    afterResponse: { response in
                        #expect(response.status == .seeOther, "\(path)")
                        #expect(response.headers.first(name: .location) == target, "\(path)")
                    })
            }
        }
    }

    @Test(
        "after sign-in the page goes only to a local path",
        arguments: [
            ("/admin/audit", "/admin/audit"), ("/account?tab=sessions", "/account?tab=sessions"),
            ("https://evil.example/", "/dashboard"), ("//evil.example/x", "/dashboard"), ("/\\evil.example", "/dashboard"),
            ("javascript:alert(1)", "/dashboard"), ("/%0d%0aSet-Cookie:x", "/%0d%0aSet-Cookie:x"), ("/a\r\nb", "/dashboard"), ("", "/dashboard"),
        ])
    func localRedirect(next: String, expected: String) {
        #expect(LocalRedirect.sanitize(next) == expected)
    }

    @Test("the sign-in answer carries the sanitized redirect, through the code step too")
    func signInRedirect() async throws {
        try await withTestApp { app, configuration in
            _ = try await flow.signedIn(app, configuration)
            for (next, expected) in [("/admin/users", "/admin/users"), ("https://evil.example/", "/dashboard")] {
                try await app.testing().test(
                    .POST, "api/v1/auth/sign-in", headers: flow.headers(configuration),
                    beforeRequest: { request in
                        try request.content.encode([
                            "email": "jane.doe@acme.example", "password": "Tr0ub4dor & 3 horses", "resolution": "1920x1080", "next": next,
                        ])
                    },
                    afterResponse: { response in
                        #expect(response.status == .ok)
                        #expect((try? response.content.get(String.self, at: "redirect")) == expected)
                    })
            }
            // A new system: the code page keeps the local target and drops a foreign one.
            for (next, expected) in [("/admin/users", "/code?next=/admin/users"), ("//evil.example", "/code")] {
                try await app.testing().test(
                    .POST, "api/v1/auth/sign-in", headers: flow.headers(configuration),
                    beforeRequest: { request in
                        try request.content.encode([
                            "email": "jane.doe@acme.example", "password": "Tr0ub4dor & 3 horses", "resolution": "800x600", "next": next,
                        ])
                    },
                    afterResponse: { response in
                        #expect(response.status == .accepted)
                        #expect((try? response.content.get(String.self, at: "redirect")) == expected)
                    })
            }
        }
    }

    @Test("administrators see their own tenant's users and audit log, escaped, with the CSRF token in every form", arguments: CatalogBackend.testable)
    func adminPages(backend: CatalogBackend) async throws {
        try await withTestApp(backend) { app, configuration in
            let admin = try await flow.signedIn(app, configuration)
            let csrf = try #require(CSRFTokens.token(for: admin))
            let me = try #require(try await User.query(on: app.db).first())
            let hostile = User(
                tenantID: me.$tenant.id, email: "mallory@acme.example", name: "<script>alert('x')</script>", phone: "+33612345678",
                passwordHash: "x", claims: [.read])
            try await hostile.create(on: app.db)
            let other = Tenant(name: "Other", region: "us-west")
            try await other.create(on: app.db)
            _ = try await admins.member(app, tenantID: try other.requireID(), email: "bob@other.example", claims: [.admin])

            try await app.testing().test(
                .GET, "admin/users", headers: page(configuration, cookie: admin),
                afterResponse: { response in
                    #expect(response.status == .ok)
                    let html = response.body.string
                    #expect(html.contains("mallory@acme.example") && html.contains("jane.doe@acme.example"))
                    #expect(!html.contains("bob@other.example"), "another tenant's user must not appear")
                    #expect(!html.contains("<script>alert"), "a name is data, never markup")
                    #expect(html.contains("&lt;script&gt;"))
                    let forms = html.components(separatedBy: "<form").count - 1
                    let tokens = html.components(separatedBy: "name=\"_csrf\" value=\"\(csrf)\"").count - 1
                    #expect(forms >= 4 && tokens == forms, "every form carries the session's CSRF token")
                    #expect(response.headers.first(name: .cacheControl) == "no-store")
                    #expect(response.headers.first(name: "Content-Security-Policy")?.contains("script-src 'self'") == true)
                })
            try await app.testing().test(
                .GET, "admin/audit", headers: page(configuration, cookie: admin),
                afterResponse: { response in
                    #expect(response.status == .ok)
                    let html = response.body.string
                    #expect(html.contains("users.viewed") && html.contains("signin.code.used") && html.contains("signin.succeeded"))
                    #expect(!html.contains("bob@other.example"))
                })
            try await app.testing().test(
                .GET, "account", headers: page(configuration, cookie: admin),
                afterResponse: { response in
                    #expect(response.status == .ok)
                    #expect(response.body.string.contains("this browser"))
                    #expect(response.body.string.contains("value=\"\(csrf)\""))
                })
        }
    }

    @Test("a user without the admin claim gets a 403 page with a request id, and no admin links", arguments: CatalogBackend.testable)
    func nonAdmin(backend: CatalogBackend) async throws {
        try await withTestApp(backend) { app, configuration in
            let tenant = Tenant(name: "T", region: "eu-west")
            try await tenant.create(on: app.db)
            let (_, reader) = try await admins.member(app, tenantID: try tenant.requireID(), email: "reader@t.example", claims: [.read])
            for path in ["admin/users", "admin/audit"] {
                try await app.testing().test(
                    .GET, path, headers: page(configuration, cookie: reader),
                    afterResponse: { response in
                        #expect(response.status == .forbidden)
                        #expect(response.headers.contentType == .html)
                        #expect(response.body.string.contains("Request id"))
                        #expect(!response.body.string.contains("reader@t.example"))
                    })
            }
            try await app.testing().test(
                .GET, "dashboard", headers: page(configuration, cookie: reader),
                afterResponse: { response in
                    #expect(response.status == .ok)
                    #expect(response.body.string.contains("reader@t.example"))
                    #expect(!response.body.string.contains("/admin/users"))
                })
        }
    }

    @Test("the uploads and consoles pages show the tenant's own rows, escaped (not only their refusals)", arguments: CatalogBackend.testable)
    func uploadsAndConsolesWithData(backend: CatalogBackend) async throws {
        try await withTestApp(backend) { app, configuration in
            let admin = try await flow.signedIn(app, configuration)
            let me = try #require(try await User.query(on: app.db).filter(\.$email == "jane.doe@acme.example").first())
            let tenantID = TenantID(me.$tenant.id)
            _ = try await app.keyring().createKey(tenantID: tenantID, actor: "test")
            // given: a console of Jane's on a machine with a hostile name, and an upload from it
            let account = try #require(try await Catalog(app.db).users.find(id: try me.requireID()))
            let credentials = ConsoleCredentials(catalog: Catalog(app.db))
            let grant = try await credentials.openGrant(for: account, machine: "<img src=x onerror=alert(1)>", at: Date())
            let token = try await credentials.issueUploadToken(grantID: grant.sessionID).token
            let armored = try await app.keyring().publicKey(tenantID: tenantID).publicKey
            let message = try MessageEncryptor.encrypt(Array(#"{"kind":"inventory"}"#.utf8), to: [try Certificate(importing: Array(armored.utf8))])
            let body = ByteBuffer(bytes: message)
            try await app.testing().test(
                .POST, "api/v1/uploads",
                headers: [
                    "Authorization": "Bearer \(token)", "Content-Type": "application/pgp-encrypted",
                    "X-Content-SHA256": SHA256.hash(data: Array(body.readableBytesView)).map { String(format: "%02x", $0) }.joined(),
                ],
                body: body, afterResponse: { response in #expect(response.status == .accepted) })
            // then
            try await app.testing().test(
                .GET, "uploads", headers: page(configuration, cookie: admin),
                afterResponse: { response in
                    #expect(response.status == .ok)
                    let html = response.body.string
                    #expect(html.contains("<td>jane.doe@acme.example</td>"), "the uploader is named")
                    #expect(html.contains("<td>\(body.readableBytes)</td>"), "the size is shown")
                    #expect(html.components(separatedBy: "<tr>").count - 1 == 2, "a header row and one upload")
                })
            try await app.testing().test(
                .GET, "admin/consoles", headers: page(configuration, cookie: admin),
                afterResponse: { response in
                    #expect(response.status == .ok)
                    let html = response.body.string
                    #expect(html.contains("&lt;img src=x onerror=alert(1)&gt;") && !html.contains("<img src=x"))
                    #expect(html.contains("jane.doe@acme.example"))
                    #expect(html.contains("POST /api/v1/admin/consoles/"))
                })
        }
    }

    @Test("without a built console archive the download says how to build it; the bundle still downloads, with no name in it")
    func consoleDownloadNotBuilt() async throws {
        try await withTestApp(adjust: { $0.consoleDistDirectory = "/nonexistent/dist" }) { app, configuration in
            let writer = try await flow.signedIn(app, configuration)
            let me = try #require(try await User.query(on: app.db).filter(\.$email == "jane.doe@acme.example").first())
            _ = try await app.keyring().createKey(tenantID: TenantID(me.$tenant.id), actor: "test")
            try await app.testing().test(
                .GET, "assay-console-linux-x86_64.tar.gz", headers: page(configuration, cookie: writer),
                afterResponse: { response in
                    #expect(response.status == .notFound)
                    #expect(response.body.string.contains("scripts/build-console.sh"))
                })
            try await app.testing().test(
                .GET, "console-bundle.json", headers: page(configuration, cookie: writer),
                afterResponse: { response in
                    #expect(response.status == .ok)
                    let bundle = try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: String]
                    #expect(Set(bundle?.keys ?? [:].keys) == ["format", "serviceURL", "tenantID", "publicKey", "fingerprint"])
                    #expect(!response.body.string.contains("Acme") && !response.body.string.contains("Jane"))
                })
        }
    }

    @Test("the tenant's part of the archive is a gzip member of tar entries that tar reads, ending the archive")
    func consoleArchiveTenantPart() throws {
        let part = try ConsoleArchive.tenantPart(
            bundle: Array(#"{"format":"assay-console-bundle/1"}"#.utf8), neutralSums: String(repeating: "a", count: 64) + "  assay\n",
            bundleSHA256: String(repeating: "b", count: 64), at: Date(timeIntervalSince1970: 1_764_000_000))
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("part-\(UUID().uuidString).tar.gz")
        defer { try? FileManager.default.removeItem(at: file) }
        try Data(part).write(to: file)
        let tar = Process()
        tar.executableURL = URL(fileURLWithPath: "/bin/tar")
        tar.arguments = ["-tvzf", file.path]
        let output = Pipe()
        tar.standardOutput = output
        try tar.run()
        let listing = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        tar.waitUntilExit()
        #expect(tar.terminationStatus == 0)
        #expect(listing.contains("assay-console/assay-console-bundle.json") && listing.contains("assay-console/SHA256SUMS"))
        #expect(throws: ConsoleArchive.Failure.malformedSums) {
            try ConsoleArchive.tenantPart(bundle: [], neutralSums: "not sums\n", bundleSHA256: "", at: Date())
        }
    }
}
