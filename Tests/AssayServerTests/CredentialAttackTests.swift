import Fluent
import Foundation
import OpenPGP
import SQLKit
import Testing
import Vapor

@testable import AssayServer

/// Issue 17, points 3 and 9: console credentials against a revocation racing renewals, and a stale
/// token replayed to flood the audit log. Each test was seen failing without its fix.
@Suite("Console credentials under attack (CON-3, SEC-4)")
struct CredentialAttackTests {
    /// `count` consoles of the fixture's user, each with its first grant.
    static func consoles(_ count: Int, _ fixture: AccountFixture, app: Application) async throws -> [String] {
        let user = try await fixture.register()
        try await fixture.publishKey(app)
        let credentials = ConsoleCredentials(catalog: Catalog(app.db), now: { fixture.clock.now })
        var grants: [String] = []
        for index in 0..<count {
            grants.append(try await credentials.openGrant(for: user, machine: "machine-\(index)", at: fixture.clock.now).token)
        }
        return grants
    }

    @Test(
        "a password change landing while 50 renewals are in flight leaves no grant or token of any family working",
        arguments: CatalogBackend.testable)
    func revocationRacesRenewals(backend: CatalogBackend) async throws {
        try await withTestApp(backend) { app, configuration in
            let fixture = try await AccountFixture.make(app, configuration)
            let grants = try await Self.consoles(50, fixture, app: app)
            let user = try #require(try await Catalog(app.db).users.find(email: fixture.email))
            let credentials = ConsoleCredentials(catalog: Catalog(app.db), now: { fixture.clock.now })
            if backend == .postgres {
                // Widen the window between spending a grant and storing its successor, as a loaded
                // database would: every new grant row takes 50 ms to insert.
                let sql = try app.db.sql()
                try await sql.raw("CREATE FUNCTION slow_insert() RETURNS trigger AS $$ BEGIN PERFORM pg_sleep(0.05); RETURN NEW; END $$ LANGUAGE plpgsql")
                    .run()
                try await sql.raw("CREATE TRIGGER slow_grants BEFORE INSERT ON console_grants FOR EACH ROW EXECUTE FUNCTION slow_insert()").run()
            }
            // when: 50 exchanges at once, and the revocation while they are under way
            let issued = try await withThrowingTaskGroup(of: ConsoleCredentials.Issued?.self) { group in
                for grant in grants {
                    group.addTask {
                        return try? await credentials.exchange(grant: grant, machine: "")
                    }
                }
                group.addTask {
                    try await Task.sleep(for: .milliseconds(20))
                    try await credentials.revokeAll(of: user.id, tenantID: user.tenantID, actor: "test", reason: "password changed")
                    return nil
                }
                return try await group.reduce(into: [ConsoleCredentials.Issued]()) { if let issued = $1 { $0.append(issued) } }
            }
            // then: whatever was issued before, during or after the revocation is dead
            for credential in issued {
                #expect(try await credentials.authenticate(uploadToken: credential.uploadToken) == nil, "an upload token outlived its family")
                await #expect(throws: ConsoleCredentials.Refusal.self) { try await credentials.exchange(grant: credential.grant, machine: "") }
            }
            for grant in grants {
                await #expect(throws: ConsoleCredentials.Refusal.self) { try await credentials.exchange(grant: grant, machine: "") }
            }
            #expect(try await ConsoleGrantFamily.query(on: app.db).filter(\.$revokedAt == nil).count() == 0)
            #expect(try await UploadToken.query(on: app.db).filter(\.$revokedAt == nil).count() == 0)
        }
    }

    @Test("a revoked upload token replayed 300 times, 100 at once, writes one audit event per hour", arguments: CatalogBackend.testable)
    func refusalsAreAuditedOncePerWindow(backend: CatalogBackend) async throws {
        try await withTestApp(backend) { app, configuration in
            let fixture = try await AccountFixture.make(app, configuration)
            let grants = try await Self.consoles(1, fixture, app: app)
            let credentials = ConsoleCredentials(catalog: Catalog(app.db), now: { fixture.clock.now })
            let issued = try await credentials.exchange(grant: grants[0], machine: "")
            try await credentials.revokeOwn(grant: issued.grant)
            func refusals() async throws -> Int {
                try await AuditEvent.query(on: app.db).filter(\.$action ~~ ["upload-token.refused", "console.grant.refused"]).count()
            }
            // when
            for _ in 0..<3 {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for _ in 0..<100 {
                        group.addTask {
                            let principal = try await credentials.authenticate(uploadToken: issued.uploadToken)
                            #expect(principal == nil)
                        }
                    }
                    try await group.waitForAll()
                }
            }
            for _ in 0..<20 { await #expect(throws: ConsoleCredentials.Refusal.revoked) { try await credentials.exchange(grant: issued.grant, machine: "") } }
            try await credentials.revokeOwn(grant: issued.grant)
            // then: one event for the family in this window, and one again in the next
            #expect(try await refusals() == 1)
            #expect(try await AuditEvent.query(on: app.db).filter(\.$action == "console.grant.revoked").count() == 1)
            fixture.clock.advance(ConsoleCredentials.refusalAuditWindow + 1)
            #expect(try await credentials.authenticate(uploadToken: issued.uploadToken) == nil)
            #expect(try await credentials.authenticate(uploadToken: issued.uploadToken) == nil)
            #expect(try await refusals() == 2)
        }
    }
}

/// Issue 17, 13: limits keyed on what an attacker cannot rotate, and addresses parsed, not matched as text.
@Suite("Addresses (issue 17, 13)")
struct AddressTests {
    @Test("a client rotating through its IPv6 /64 is one subject; another /64, and IPv4, are not")
    func ipv6Prefix() async throws {
        try await withTestApp(.sqlite) { app, configuration in
            let fixture = try await AccountFixture.make(app, configuration)
            _ = try await fixture.register()
            let service = AccountService(
                catalog: Catalog(app.db), mailer: fixture.mailer, hasher: PasswordHasher(iterations: 1000), limiter: HashingLimiter(limit: 2),
                emailPolicy: try EmailPolicy.bundled(), now: { fixture.clock.now }, throttling: ThrottlingTests.policy(perAddress: 5))
            func attempt(from address: String) async -> Bool {
                let fingerprint = ClientFingerprint(ipAddress: address, browser: "Chrome 131", resolution: "1920x1080")
                do {
                    _ = try await service.signIn(email: "someone@acme.example", password: "x", fingerprint: fingerprint)
                    return true
                } catch { return false }
            }
            // when: ten addresses of one /64, written in several forms
            var admitted = 0
            for index in 1...10 { if await attempt(from: "2001:db8:aa:bb:\(String(index, radix: 16))::\(index)") { admitted += 1 } }
            // then
            #expect(admitted == 5)
            #expect(await attempt(from: "2001:0db8:00aa:00bb:ffff:1:2:3") == false)
            #expect(await attempt(from: "2001:db8:aa:bc::1") == true)
            #expect(await attempt(from: "192.0.2.7") == true)
        }
    }

    @Test("addresses: loopback by value, IPv4-mapped IPv6 as IPv4, names are not addresses")
    func parsing() {
        #expect(IPAddress("127.0.0.1")?.isLoopback == true)
        #expect(IPAddress("127.200.3.4")?.isLoopback == true)
        #expect(IPAddress("::1")?.isLoopback == true)
        #expect(IPAddress("[::1]")?.isLoopback == true)
        #expect(IPAddress("::ffff:127.0.0.1")?.isLoopback == true)
        #expect(IPAddress("::ffff:192.0.2.1")?.throttleSubject == "192.0.2.1")
        #expect(IPAddress("2001:db8::1")?.throttleSubject == "2001:db8:0:0::/64")
        #expect(IPAddress("127.db.example.com") == nil)
        #expect(IPAddress("127.0.0.1.example.com") == nil)
        #expect(IPAddress("fe80::1%eth0") == nil)
        #expect(ServerConfiguration.reachesPostgresSafely("postgres://assay@127.0.0.1:5432/catalog"))
        #expect(ServerConfiguration.reachesPostgresSafely("postgres://assay@[::1]:5432/catalog"))
        #expect(ServerConfiguration.reachesPostgresSafely("postgres://assay@localhost/catalog"))
        #expect(!ServerConfiguration.reachesPostgresSafely("postgres://assay@127.db.example.com/catalog"))
        #expect(!ServerConfiguration.reachesPostgresSafely("postgres://assay@127.0.0.1.nip.example/catalog"))
        #expect(ServerConfiguration.reachesPostgresSafely("postgres://assay@127.db.example.com/catalog?sslmode=verify-full"))
    }
}

/// Issue 17, CON-5: the tenant key travels to every device: its User ID carries the GUID only.
@Suite("Tenant keys name no one (CON-5)")
struct KeyUserIDTests {
    @Test("a new tenant's key has one User ID, the GUID's; keys that named the customer are rotated by one command, once")
    func userIDs() async throws {
        try await withTestApp(.sqlite) { app, configuration in
            let keyring = try app.keyring()
            let created = try await TenantService(
                catalog: Catalog(app.db), configuration: configuration, mailer: MemoryMailer(), emailPolicy: try EmailPolicy.bundled(), keyring: keyring
            ).create(name: "Globex Corporation", region: "eu-west", adminEmail: "hank.scorpio@globex.example")
            let published = try await keyring.publicKey(tenantID: created.tenantID)
            let certificate = try Certificate(importing: Array(published.publicKey.utf8))
            #expect(certificate.userIDs == ["Assay tenant <tenant-\(created.tenantID.lowercased)@assay.invalid>"])
            #expect(!published.publicKey.contains("Globex"))

            // A key of the old form, as tenants made before have.
            let old = try await keyring.createKey(
                tenantID: created.tenantID, userID: "Assay tenant Globex Corporation <tenant-\(created.tenantID.lowercased)@assay.invalid>",
                actor: "test")
            // when
            let rotated = try await keyring.rotateKeysNamingMoreThanTheGUID(actor: "operator")
            // then
            #expect(rotated == [created.tenantID])
            let now = try await keyring.publicKey(tenantID: created.tenantID)
            #expect(now.fingerprint != old.fingerprint)
            #expect(try Certificate(importing: Array(now.publicKey.utf8)).userIDs == certificate.userIDs)
            #expect(try await Catalog(app.db).tenantKeys.all(tenantID: created.tenantID).count == 3, "the old keys stay, retired, to decrypt")
            #expect(try await keyring.rotateKeysNamingMoreThanTheGUID(actor: "operator").isEmpty)
        }
    }
}
