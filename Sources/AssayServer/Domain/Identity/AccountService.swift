import Crypto
import Foundation

/// Registration from an invitation, the two-step sign-in (AUTH-3 … AUTH-8), and the user's own
/// password change. Plain Swift over the catalog's stores: the web tier turns its answers into
/// pages, cookies and status codes.
public struct AccountService: Sendable {
    let catalog: Catalog
    let mailer: any Mailer
    let hasher: PasswordHasher
    let limiter: HashingLimiter
    let emailPolicy: EmailPolicy
    let now: @Sendable () -> Date
    /// What a successful sign-in opens: a browser session, or a console grant (CON-4).
    let channel: Channel
    /// How many attempts a client address and an account get (ASVS 2.2.1).
    let throttling: Throttle.Policy

    public enum Channel: Sendable, Equatable {
        case browser
        /// The console signs in for a machine; only users with the write claim may (CON-3).
        case console(machine: String)
    }

    public static let maxFailedPasswords = 3
    public static let lockDuration: TimeInterval = 30 * 60

    public init(
        catalog: Catalog, mailer: any Mailer, hasher: PasswordHasher = PasswordHasher(), limiter: HashingLimiter,
        emailPolicy: EmailPolicy, now: @escaping @Sendable () -> Date = Date.init, channel: Channel = .browser, throttling: Throttle.Policy = .standard
    ) {
        self.channel = channel
        self.throttling = throttling
        self.catalog = catalog
        self.mailer = mailer
        self.hasher = hasher
        self.limiter = limiter
        self.emailPolicy = emailPolicy
        self.now = now
    }

    var sessions: SessionLifecycle { SessionLifecycle(catalog: catalog, now: now) }
    var throttle: Throttle { Throttle(catalog: catalog, policy: throttling, now: now) }
    var reauthentication: Reauthentication {
        Reauthentication(catalog: catalog, hasher: hasher, limiter: limiter, mailer: mailer, throttling: throttling, now: now)
    }

    // MARK: registration

    public enum RegistrationFailure: Error, Equatable, CustomStringConvertible {
        /// Unknown, expired or already used: one answer for all three.
        case invitationInvalid
        case nameRequired
        case phone(PhoneNumber.Rejection)
        case password([PasswordPolicy.Rejection])

        public var description: String {
            switch self {
            case .invitationInvalid: "this invitation link is not valid any more: ask your administrator for a new one"
            case .nameRequired: "enter your name (1 to 100 characters)"
            case .phone(let rejection): rejection.description
            case .password(let problems): "the password needs a change: " + problems.map(\.description).joined(separator: "; ")
            }
        }
    }

    @discardableResult
    func register(invitationToken: String, name: String, phone: String, password: String, client: String = "unknown") async throws -> UserAccount {
        try await throttle.admit([(throttling.registrationPerAddress, IPAddress.throttleSubject(of: client))], actor: "client:\(client)")
        guard let invitation = try await catalog.invitations.find(tokenHash: SecretToken.hash(invitationToken)),
            invitation.usedAt == nil, invitation.expiresAt > now()
        else { throw RegistrationFailure.invitationInvalid }
        let trimmedName = name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (1...100).contains(trimmedName.count), !trimmedName.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw RegistrationFailure.nameRequired
        }
        let canonicalPhone: String
        do { canonicalPhone = try PhoneNumber.normalize(phone) } catch { throw RegistrationFailure.phone(error) }
        let problems = PasswordPolicy.violations(password, email: invitation.email)
        guard problems.isEmpty else { throw RegistrationFailure.password(problems) }
        let hasher = self.hasher
        let passwordHash = try await limiter.run { try hasher.hash(password) }

        let new = UserStore.NewUser(
            tenantID: invitation.tenantID, email: invitation.email, name: trimmedName, phone: canonicalPhone,
            passwordHash: passwordHash, claims: invitation.claims)
        let claimed = now()
        let user: UserAccount
        do {
            user = try await catalog.transaction { transaction in
                // Single use: only the first registration turns used_at from NULL; the unique
                // e-mail index stops a second one even if two arrive at the same instant.
                guard try await transaction.invitations.markUsed(invitationID: invitation.id, at: claimed) else {
                    throw RegistrationFailure.invitationInvalid
                }
                return try await transaction.users.create(new)
            }
        } catch let failure as RegistrationFailure {
            throw failure
        } catch {
            if try await catalog.users.find(email: invitation.email) != nil { throw RegistrationFailure.invitationInvalid }
            throw error
        }
        try await catalog.audit.append(
            tenantID: invitation.tenantID, actor: "user:\(user.id)", action: "user.registered",
            subject: "email:\(user.email)", at: claimed)
        return user
    }

    // MARK: sign-in, step one

    public enum SignInResult: Sendable, Equatable {
        case signedIn(SessionLifecycle.Grant)
        /// A code was mailed; the attempt token binds the code to this browser's attempt.
        case codeSent(attemptToken: String)
        /// Wrong e-mail, wrong password, locked or disabled: one answer for all (AUTH-7).
        case refused
    }

    /// A hash of a random password: verifying against it costs what a real verification costs,
    /// so an unknown e-mail takes as long as a known one.
    private static let decoyHash: String = (try? PasswordHasher().hash(UUID().uuidString + "Aa1!")) ?? ""

    public func signIn(email rawEmail: String, password: String, fingerprint: ClientFingerprint) async throws -> SignInResult {
        let email = rawEmail.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        let client = "client:\(fingerprint.ipAddress)"
        // Before any hashing: a flood costs the attacker refusals, not the service CPU.
        try await throttle.admit(
            [(throttling.signInPerAddress, IPAddress.throttleSubject(of: fingerprint.ipAddress)), (throttling.signInPerAccount, email)], actor: client)
        let hasher = self.hasher
        guard let user = try await catalog.users.find(email: email) else {
            _ = try await limiter.run { hasher.verify(password, against: Self.decoyHash) }
            // A security event, with the address only as a digest: people type passwords into
            // the e-mail field too.
            try await catalog.audit.append(
                tenantID: nil, actor: client, action: "security.signin-unknown-email", subject: "email-sha256:\(SecretToken.hash(email).prefix(16))", at: now())
            return .refused
        }
        let audit = catalog.audit
        let actor = "user:\(user.id)"
        let verification = try await limiter.run { hasher.verify(password, against: user.passwordHash) }
        let time = now()
        if user.isLocked(at: time) {
            try await audit.append(tenantID: user.tenantID, actor: actor, action: "signin.refused.locked", subject: "email:\(email)", at: time)
            return .refused
        }
        guard user.state == .active else {
            try await audit.append(tenantID: user.tenantID, actor: actor, action: "signin.refused.disabled", subject: "email:\(email)", at: time)
            return .refused
        }
        guard verification != .mismatch else {
            // Counted in the database, in one statement: failures sent at once all count.
            let lockUntil = time.addingTimeInterval(Self.lockDuration)
            guard
                let outcome = try await catalog.users.recordFailedPassword(userID: user.id, lockAfter: Self.maxFailedPasswords, lockUntil: lockUntil, at: time)
            else {
                try await audit.append(tenantID: user.tenantID, actor: actor, action: "signin.refused.locked", subject: "email:\(email)", at: time)
                return .refused
            }
            try await audit.append(
                tenantID: user.tenantID, actor: actor, action: outcome.locked ? "account.locked" : "signin.failed", subject: "email:\(email)", at: time)
            if outcome.locked { try await Self.lockNotice(to: email, via: mailer) }
            return .refused
        }
        if case .console = channel, user.claims.isDisjoint(with: [.write, .admin]) {
            try await audit.append(tenantID: user.tenantID, actor: actor, action: "console.signin.refused.claim", subject: "email:\(email)", at: time)
            return .refused
        }
        let rehashed = verification == .matchNeedsRehash ? try await limiter.run { try hasher.hash(password) } : nil
        // The lock read before hashing may be stale: a lock set meanwhile by concurrent failures holds.
        guard try await catalog.users.recordGoodPassword(userID: user.id, newHash: rehashed, at: time) else {
            try await audit.append(tenantID: user.tenantID, actor: actor, action: "signin.refused.locked", subject: "email:\(email)", at: time)
            return .refused
        }

        let digest = fingerprint.digest
        if try await catalog.signIns.isKnown(fingerprint: digest, of: user.id) {
            return .signedIn(try await openSession(for: user, fingerprint: digest, at: time))
        }
        // A new system: a 7-digit code by e-mail, bound to this attempt.
        let attempt = SecretToken(prefix: "asa_")
        let code = String(format: "%07d", Int.random(in: 0...9_999_999))
        try await catalog.signIns.createChallenge(
            userID: user.id, attemptHash: attempt.hash, codeHash: Self.codeHash(attempt: attempt.value, code: code),
            fingerprint: digest, expiresAt: time.addingTimeInterval(Self.codeValidity))
        try await audit.append(tenantID: user.tenantID, actor: actor, action: "signin.code.sent", subject: "email:\(email)", at: time)
        try await mailer.send(
            MailMessage(
                to: email, subject: "Your Assay sign-in code",
                body:
                    "Someone, probably you, signed in to Assay from a new browser or place.\n\nYour code: \(code)\n\nIt is valid for 10 minutes. If this was not you, change your password.",
                purpose: "sign-in code"))
        return .codeSent(attemptToken: attempt.value)
    }

    static func lockNotice(to email: String, via mailer: any Mailer) async throws {
        try await mailer.send(
            MailMessage(
                to: email, subject: "Your Assay account is locked for 30 minutes",
                body:
                    "Three wrong passwords in a row were entered for your account. It is locked for 30 minutes.\nIf this was not you, tell your administrator.",
                purpose: "lockout notice"))
    }

    /// How long an e-mailed code may be entered, and how many guesses one attempt gets (AUTH-6).
    public static let codeValidity: TimeInterval = 10 * 60
    public static let maxCodeTries = 5

    static func codeHash(attempt: String, code: String) -> String {
        SecretToken.hash(attempt + ":" + code)
    }

    // MARK: sign-in, step two

    public enum CodeResult: Sendable, Equatable {
        case signedIn(SessionLifecycle.Grant)
        /// Wrong code; more tries remain.
        case wrongCode(remaining: Int)
        /// Expired, used, or out of tries: sign in again for a new code.
        case void
    }

    public func verifyCode(attemptToken: String, code: String, fingerprint: ClientFingerprint) async throws -> CodeResult {
        try await throttle.admit(
            [(throttling.codePerAddress, IPAddress.throttleSubject(of: fingerprint.ipAddress))], actor: "client:\(fingerprint.ipAddress)")
        let time = now()
        // The try is spent before anything is compared (AUTH-6): at most five guesses per attempt,
        // however many arrive at once.
        guard let challenge = try await catalog.signIns.spendTry(attemptHash: SecretToken.hash(attemptToken), maxTries: Self.maxCodeTries, at: time),
            challenge.fingerprint == fingerprint.digest
        else { return .void }
        guard let user = try await catalog.users.find(id: challenge.userID), user.state == .active, !user.isLocked(at: time) else { return .void }
        // The claim is checked again at the second step: it may have been removed in between (CON-3).
        if case .console = channel, user.claims.isDisjoint(with: [.write, .admin]) {
            try await catalog.audit.append(
                tenantID: user.tenantID, actor: "user:\(user.id)", action: "console.signin.refused.claim", subject: "email:\(user.email)", at: time)
            return .void
        }
        let candidate = Self.codeHash(attempt: attemptToken, code: code.filter(\.isNumber))
        guard constantTimeEquals(candidate.utf8, challenge.codeHash.utf8) else {
            let tries = challenge.tries
            try await catalog.audit.append(
                tenantID: user.tenantID, actor: "user:\(user.id)", action: "signin.code.wrong",
                subject: "email:\(user.email)", detail: "tries=\(tries)", at: time)
            return tries >= Self.maxCodeTries ? .void : .wrongCode(remaining: Self.maxCodeTries - tries)
        }
        guard try await catalog.signIns.consume(challengeID: challenge.id) else { return .void }
        try await catalog.signIns.remember(fingerprint: challenge.fingerprint, of: user.id, at: time)
        try await catalog.audit.append(
            tenantID: user.tenantID, actor: "user:\(user.id)", action: "signin.code.used",
            subject: "email:\(user.email)", at: time)
        let grant = try await openSession(for: user, fingerprint: challenge.fingerprint, at: time)
        try await mailer.send(
            MailMessage(
                to: user.email, subject: "New sign-in to Assay",
                body:
                    "Your account was signed in from a new browser or place (\(fingerprint.browser), \(fingerprint.ipAddress)).\nIf this was not you, change your password and tell your administrator.",
                purpose: "new system confirmation"))
        return .signedIn(grant)
    }

    private func openSession(for user: UserAccount, fingerprint: String, at time: Date) async throws -> SessionLifecycle.Grant {
        if case .console(let machine) = channel {
            return try await ConsoleCredentials(catalog: catalog, now: now).openGrant(for: user, machine: machine, at: time)
        }
        return try await sessions.open(for: user, fingerprint: fingerprint, at: time)
    }

    // MARK: the user's own password

    public enum PasswordChangeFailure: Error, Equatable, CustomStringConvertible {
        case wrongCurrentPassword
        case weak([PasswordPolicy.Rejection])
        case unknownUser
        /// Three wrong answers: the account is locked and every session ended.
        case signedOut

        public var description: String {
            switch self {
            case .wrongCurrentPassword: "the current password is not right"
            case .weak(let problems): "the new password needs a change: " + problems.map(\.description).joined(separator: "; ")
            case .unknownUser: "sign in first"
            case .signedOut: "three wrong passwords: the account is locked for 30 minutes and you are signed out"
            }
        }
    }

    /// AUTH-4, AUTH-5: the current password first; optionally every other session ends.
    public func changePassword(of session: LiveSession, current: String, new: String, endOtherSessions: Bool) async throws {
        let user: UserAccount
        do {
            user = try await reauthentication.confirm(session, password: current, failureAction: "password.change.refused", subject: "user:\(session.userID)")
        } catch let refusal as Reauthentication.Refusal {
            switch refusal {
            case .wrongPassword: throw PasswordChangeFailure.wrongCurrentPassword
            case .unknownUser: throw PasswordChangeFailure.unknownUser
            case .sessionEnded: throw PasswordChangeFailure.signedOut
            }
        }
        let problems = PasswordPolicy.violations(new, email: user.email)
        guard problems.isEmpty else { throw PasswordChangeFailure.weak(problems) }
        let hasher = self.hasher
        try await catalog.users.setPasswordHash(userID: user.id, to: try await limiter.run { try hasher.hash(new) })
        if endOtherSessions { try await sessions.endAll(of: user.id, except: session.sessionID) }
        // A console signed in with the old password must sign in again (CON-3).
        try await ConsoleCredentials(catalog: catalog, now: now).revokeAll(
            of: user.id, tenantID: session.tenantID, actor: session.actor, reason: "password changed")
        try await catalog.audit.append(
            tenantID: session.tenantID, actor: session.actor, action: "password.changed",
            subject: "user:\(session.userID)", detail: "other sessions ended=\(endOtherSessions)", at: now())
        try await mailer.send(
            MailMessage(
                to: user.email, subject: "Your Assay password was changed",
                body: "The password of your Assay account was changed just now.\nIf this was not you, tell your administrator at once.",
                purpose: "password change confirmation"))
    }
}
