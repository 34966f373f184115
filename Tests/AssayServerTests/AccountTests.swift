import Fluent
import Foundation
import Testing
import Vapor

@testable import AssayServer

struct AccountFixture {
    let service: AccountService
    let clock: TestClock
    let mailer: MemoryMailer
    let invitationToken: String
    let email = "jane.doe@acme.example"
    var password = "Tr0ub4dor & 3 horses"
    let browser = ClientFingerprint(ipAddress: "192.0.2.10", browser: "Chrome 131", resolution: "1920x1080")

    static func make(_ app: Application, _ configuration: ServerConfiguration) async throws -> AccountFixture {
        let clock = TestClock()
        let mailer = MemoryMailer()
        let tenants = TenantService(catalog: Catalog(app.db), configuration: configuration, mailer: mailer, emailPolicy: try EmailPolicy.bundled())
        let created = try await tenants.create(name: "Acme", region: "eu-west", adminEmail: "jane.doe@acme.example")
        let token = String(created.invitationLink.split(separator: "#").last!)
        let service = AccountService(
            catalog: Catalog(app.db), mailer: mailer, hasher: PasswordHasher(iterations: 1000), limiter: HashingLimiter(limit: 2),
            emailPolicy: try EmailPolicy.bundled(), now: { clock.now }, throttling: .unlimited)
        return AccountFixture(service: service, clock: clock, mailer: mailer, invitationToken: token)
    }

    func register() async throws -> UserAccount {
        try await service.register(invitationToken: invitationToken, name: "Jane Doe", phone: "+44 20 7946 0958", password: password)
    }

    /// Signs in from a new browser, reads the code from the mail, and enters it.
    func signInWithCode(_ fingerprint: ClientFingerprint? = nil) async throws -> SessionLifecycle.Grant {
        let fingerprint = fingerprint ?? browser
        guard case .codeSent(let attempt) = try await service.signIn(email: email, password: password, fingerprint: fingerprint) else {
            throw TestFailure("expected a code")
        }
        let code = try #require(await mailer.last?.body.split(separator: "\n").first { $0.hasPrefix("Your code: ") }?.dropFirst(11))
        guard case .signedIn(let grant) = try await service.verifyCode(attemptToken: attempt, code: String(code), fingerprint: fingerprint) else {
            throw TestFailure("the code did not sign in")
        }
        return grant
    }
}

@Suite("Accounts: registration, two-step sign-in, lockout")
struct AccountTests {
    @Test("registration: rules on name, phone and password; the invitation is single-use and expires", arguments: CatalogBackend.testable)
    func registration(backend: CatalogBackend) async throws {
        try await withTestApp(backend) { app, configuration in
            let fixture = try await AccountFixture.make(app, configuration)
            await #expect(throws: AccountService.RegistrationFailure.phone(.notInternational)) {
                try await fixture.service.register(invitationToken: fixture.invitationToken, name: "Jane", phone: "020 7946 0958", password: fixture.password)
            }
            await #expect(throws: AccountService.RegistrationFailure.phone(.unknownCountryCode)) {
                try await fixture.service.register(invitationToken: fixture.invitationToken, name: "Jane", phone: "+999 1234 5678", password: fixture.password)
            }
            await #expect(throws: AccountService.RegistrationFailure.password([.noUppercase, .noDigit])) {
                try await fixture.service.register(
                    invitationToken: fixture.invitationToken, name: "Jane", phone: "+4420 7946 0958", password: "all lower case!")
            }
            await #expect(throws: AccountService.RegistrationFailure.nameRequired) {
                try await fixture.service.register(invitationToken: fixture.invitationToken, name: " ", phone: "+4420 7946 0958", password: fixture.password)
            }
            let user = try await fixture.register()
            #expect(user.email == fixture.email && user.phone == "+442079460958")
            #expect(user.claims == Set(Claim.allCases))
            #expect(user.passwordHash.hasPrefix("pbkdf2-sha256$") && !user.passwordHash.contains(fixture.password))
            await #expect(throws: AccountService.RegistrationFailure.invitationInvalid) { try await fixture.register() }
            await #expect(throws: AccountService.RegistrationFailure.invitationInvalid) {
                try await fixture.service.register(invitationToken: "asi_forged", name: "Eve", phone: "+4420 7946 0958", password: fixture.password)
            }
        }
    }

    @Test("an invitation older than 48 hours is refused", arguments: CatalogBackend.testable)
    func expiredInvitation(backend: CatalogBackend) async throws {
        try await withTestApp(backend) { app, configuration in
            let fixture = try await AccountFixture.make(app, configuration)
            let invitation = try #require(try await Invitation.query(on: app.db).first())
            invitation.expiresAt = fixture.clock.now.addingTimeInterval(-1)
            try await invitation.save(on: app.db)
            await #expect(throws: AccountService.RegistrationFailure.invitationInvalid) { try await fixture.register() }
        }
    }

    @Test("a new system needs the e-mailed 7-digit code; a known one signs in directly", arguments: CatalogBackend.testable)
    func fingerprintAndCode(backend: CatalogBackend) async throws {
        try await withTestApp(backend) { app, configuration in
            let fixture = try await AccountFixture.make(app, configuration)
            _ = try await fixture.register()
            let grant = try await fixture.signInWithCode()
            #expect(grant.token.hasPrefix("ass_"))
            #expect(grant.expiresAt == fixture.clock.now.addingTimeInterval(24 * 3600))
            let stored = try #require(try await Session.find(grant.sessionID, on: app.db))
            #expect(stored.tokenHash == SecretToken.hash(grant.token) && stored.tokenHash != grant.token)
            let sent = await fixture.mailer.sent
            let code = sent.flatMap { $0.body.split(separator: "\n") }.first { $0.hasPrefix("Your code: ") }
            #expect(code?.dropFirst(11).count == 7)
            #expect(sent.last?.purpose == "new system confirmation")
            #expect(sent.last?.body.contains("Chrome 131") == true)
            // Same browser again: no code.
            guard case .signedIn = try await fixture.service.signIn(email: fixture.email, password: fixture.password, fingerprint: fixture.browser) else {
                Issue.record("a known fingerprint should sign in directly")
                return
            }
            // Another resolution is another system.
            var other = fixture.browser
            other.resolution = "1280x720"
            guard case .codeSent = try await fixture.service.signIn(email: fixture.email, password: fixture.password, fingerprint: other) else {
                Issue.record("a changed fingerprint needs a code")
                return
            }
        }
    }

    @Test("five wrong codes void the code; an expired code is void; a code belongs to its attempt", arguments: CatalogBackend.testable)
    func wrongCodes(backend: CatalogBackend) async throws {
        try await withTestApp(backend) { app, configuration in
            let fixture = try await AccountFixture.make(app, configuration)
            _ = try await fixture.register()
            guard case .codeSent(let attempt) = try await fixture.service.signIn(email: fixture.email, password: fixture.password, fingerprint: fixture.browser)
            else { throw TestFailure("a new browser must be sent a code") }
            let code = String(try #require(await fixture.mailer.last?.body.split(separator: "\n").first { $0.hasPrefix("Your code: ") }?.dropFirst(11)))
            let wrong = code == "0000000" ? "1111111" : "0000000"
            for remaining in [4, 3, 2, 1] {
                #expect(
                    try await fixture.service.verifyCode(attemptToken: attempt, code: wrong, fingerprint: fixture.browser) == .wrongCode(remaining: remaining))
            }
            #expect(try await fixture.service.verifyCode(attemptToken: attempt, code: wrong, fingerprint: fixture.browser) == .void)
            #expect(try await fixture.service.verifyCode(attemptToken: attempt, code: code, fingerprint: fixture.browser) == .void)

            guard case .codeSent(let second) = try await fixture.service.signIn(email: fixture.email, password: fixture.password, fingerprint: fixture.browser)
            else { throw TestFailure("a new browser must be sent a code") }
            let secondCode = String(try #require(await fixture.mailer.last?.body.split(separator: "\n").first { $0.hasPrefix("Your code: ") }?.dropFirst(11)))
            #expect(try await fixture.service.verifyCode(attemptToken: attempt, code: secondCode, fingerprint: fixture.browser) == .void)  // old attempt
            var elsewhere = fixture.browser
            elsewhere.ipAddress = "198.51.100.7"
            #expect(try await fixture.service.verifyCode(attemptToken: second, code: secondCode, fingerprint: elsewhere) == .void)  // other system
            fixture.clock.advance(10 * 60 + 1)
            #expect(try await fixture.service.verifyCode(attemptToken: second, code: secondCode, fingerprint: fixture.browser) == .void)  // expired
        }
    }

    @Test("a right code submitted ten times at once signs in exactly once", arguments: CatalogBackend.testable)
    func codeSingleUse(backend: CatalogBackend) async throws {
        try await withTestApp(backend) { app, configuration in
            let fixture = try await AccountFixture.make(app, configuration)
            _ = try await fixture.register()
            guard case .codeSent(let attempt) = try await fixture.service.signIn(email: fixture.email, password: fixture.password, fingerprint: fixture.browser)
            else { throw TestFailure("a new browser must be sent a code") }
            let code = String(try #require(await fixture.mailer.last?.body.split(separator: "\n").first { $0.hasPrefix("Your code: ") }?.dropFirst(11)))
            let results = try await withThrowingTaskGroup(of: AccountService.CodeResult.self) { group in
                for _ in 0..<10 {
                    group.addTask { try await fixture.service.verifyCode(attemptToken: attempt, code: code, fingerprint: fixture.browser) }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(results.filter { if case .signedIn = $0 { true } else { false } }.count == 1)
            #expect(try await Session.query(on: app.db).count() == 1)
        }
    }

    @Test("three wrong passwords lock the account for 30 minutes; the answer never says why", arguments: CatalogBackend.testable)
    func lockout(backend: CatalogBackend) async throws {
        try await withTestApp(backend) { app, configuration in
            let fixture = try await AccountFixture.make(app, configuration)
            _ = try await fixture.register()
            _ = try await fixture.signInWithCode()
            for _ in 0..<2 {
                #expect(try await fixture.service.signIn(email: fixture.email, password: "Wrong-pass-1", fingerprint: fixture.browser) == .refused)
            }
            // Two wrong, then right: the count starts again.
            guard case .signedIn = try await fixture.service.signIn(email: fixture.email, password: fixture.password, fingerprint: fixture.browser) else {
                Issue.record("the right password should sign in after two wrong ones")
                return
            }
            for _ in 0..<3 {
                #expect(try await fixture.service.signIn(email: fixture.email, password: "Wrong-pass-1", fingerprint: fixture.browser) == .refused)
            }
            #expect(await fixture.mailer.last?.purpose == "lockout notice")
            // Locked: even the right password is refused, with the same answer as an unknown e-mail.
            #expect(try await fixture.service.signIn(email: fixture.email, password: fixture.password, fingerprint: fixture.browser) == .refused)
            #expect(try await fixture.service.signIn(email: "nobody@acme.example", password: fixture.password, fingerprint: fixture.browser) == .refused)
            fixture.clock.advance(29 * 60)
            #expect(try await fixture.service.signIn(email: fixture.email, password: fixture.password, fingerprint: fixture.browser) == .refused)
            fixture.clock.advance(60 + 1)
            guard case .signedIn = try await fixture.service.signIn(email: fixture.email, password: fixture.password, fingerprint: fixture.browser) else {
                Issue.record("the lock should end after 30 minutes")
                return
            }
            let actions = try await Catalog(app.db).auditEvents(
                of: TenantID(try #require(try await User.find(email: fixture.email, on: app.db)).$tenant.id), app: app
            ).map(\.action)
            #expect(actions.contains("account.locked") && actions.contains("signin.refused.locked"))
        }
    }

    @Test("a password hashed at a lower cost is upgraded at the next sign-in")
    func rehashOnSignIn() async throws {
        try await withTestApp { app, configuration in
            let fixture = try await AccountFixture.make(app, configuration)
            _ = try await fixture.register()
            let stronger = AccountService(
                catalog: Catalog(app.db), mailer: fixture.mailer, hasher: PasswordHasher(iterations: 1500), limiter: HashingLimiter(limit: 1),
                emailPolicy: try EmailPolicy.bundled(), now: { fixture.clock.now })
            _ = try await stronger.signIn(email: fixture.email, password: fixture.password, fingerprint: fixture.browser)
            #expect(try await User.find(email: fixture.email, on: app.db)?.passwordHash.hasPrefix("pbkdf2-sha256$1500$") == true)
        }
    }

    @Test("phone numbers: E.164 with a real country code")
    func phones() throws {
        #expect(try PhoneNumber.normalize("+1 (415) 555-2671") == "+14155552671")
        #expect(try PhoneNumber.normalize("+33 6 12 34 56 78") == "+33612345678")
        #expect(throws: PhoneNumber.Rejection.wrongLength) { try PhoneNumber.normalize("+44 12") }
        #expect(throws: PhoneNumber.Rejection.invalidCharacters) { try PhoneNumber.normalize("+44 20x7946 0958") }
        #expect(throws: PhoneNumber.Rejection.unknownCountryCode) { try PhoneNumber.normalize("+999 123 456 789") }
        #expect(throws: PhoneNumber.Rejection.notInternational) { try PhoneNumber.normalize("") }
    }
}
