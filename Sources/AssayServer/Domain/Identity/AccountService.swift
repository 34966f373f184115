import Crypto
import Fluent
import Foundation
import SQLKit

/// Registration from an invitation, and the two-step sign-in (AUTH-3 … AUTH-8). Plain Swift over
/// the catalog: the web layer turns its answers into pages, cookies and status codes.
public struct AccountService: Sendable {
    let database: any Database
    let mailer: any Mailer
    let hasher: PasswordHasher
    let limiter: HashingLimiter
    let emailPolicy: EmailPolicy
    let now: @Sendable () -> Date
    /// What a successful sign-in opens: a browser session, or a console grant (CON-4).
    let channel: Channel

    public enum Channel: Sendable, Equatable {
        case browser
        /// The console signs in for a machine; only users with the write claim may (CON-3).
        case console(machine: String)
    }

    public static let maxFailedPasswords = 3
    public static let lockDuration: TimeInterval = 30 * 60

    public init(database: any Database, mailer: any Mailer, hasher: PasswordHasher = PasswordHasher(), limiter: HashingLimiter,
                emailPolicy: EmailPolicy, now: @escaping @Sendable () -> Date = Date.init, channel: Channel = .browser) {
        self.channel = channel
        self.database = database
        self.mailer = mailer
        self.hasher = hasher
        self.limiter = limiter
        self.emailPolicy = emailPolicy
        self.now = now
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

    public func register(invitationToken: String, name: String, phone: String, password: String) async throws -> User {
        let tokenHash = SecretToken.hash(invitationToken)
        guard let invitation = try await Invitation.query(on: database).filter(\.$tokenHash == tokenHash).first(),
              invitation.usedAt == nil, invitation.expiresAt > now()
        else { throw RegistrationFailure.invitationInvalid }
        let trimmedName = name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (1 ... 100).contains(trimmedName.count), !trimmedName.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw RegistrationFailure.nameRequired
        }
        let canonicalPhone: String
        do { canonicalPhone = try PhoneNumber.normalize(phone) } catch { throw RegistrationFailure.phone(error) }
        let problems = PasswordPolicy.violations(password, email: invitation.email)
        guard problems.isEmpty else { throw RegistrationFailure.password(problems) }
        let hasher = self.hasher
        let passwordHash = try await limiter.run { try hasher.hash(password) }

        let user = User(tenantID: invitation.$tenant.id, email: invitation.email, name: trimmedName, phone: canonicalPhone,
                        passwordHash: passwordHash, claims: Array(Claim.decode(invitation.claims)))
        let claimed = now()
        do {
            try await database.transaction { transaction in
                // Single use: only the first registration turns used_at from NULL; the unique
                // e-mail index stops a second one even if two arrive at the same instant.
                try await Invitation.query(on: transaction).filter(\.$id == invitation.id!).filter(\.$usedAt == nil)
                    .set(\.$usedAt, to: claimed).update()
                guard let fresh = try await Invitation.find(invitation.id, on: transaction), let usedAt = fresh.usedAt,
                      abs(usedAt.timeIntervalSince(claimed)) < 0.001 else { throw RegistrationFailure.invitationInvalid }
                try await user.create(on: transaction)
            }
        } catch let failure as RegistrationFailure {
            throw failure
        } catch {
            if try await User.find(email: invitation.email, on: database) != nil { throw RegistrationFailure.invitationInvalid }
            throw error
        }
        try await AuditLog(database: database).append(tenantID: invitation.$tenant.id, actor: "user:\(try user.requireID())",
                                                      action: "user.registered", subject: "email:\(user.email)", at: claimed)
        return user
    }

    // MARK: sign-in, step one

    public struct SessionGrant: Sendable, Equatable {
        /// Goes into the cookie and nowhere else.
        public let token: String
        public let sessionID: UUID
        public let expiresAt: Date
    }

    public enum SignInResult: Sendable, Equatable {
        case signedIn(SessionGrant)
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
        let hasher = self.hasher
        guard let user = try await User.find(email: email, on: database) else {
            _ = await limiter.run { hasher.verify(password, against: Self.decoyHash) }
            return .refused
        }
        let userID = try user.requireID()
        let audit = AuditLog(database: database)
        let verification = await limiter.run { hasher.verify(password, against: user.passwordHash) }
        let time = now()
        if let lockedUntil = user.lockedUntil, lockedUntil > time {
            try await audit.append(tenantID: user.$tenant.id, actor: "user:\(userID)", action: "signin.refused.locked", subject: "email:\(email)", at: time)
            return .refused
        }
        guard user.state == .active else {
            try await audit.append(tenantID: user.$tenant.id, actor: "user:\(userID)", action: "signin.refused.disabled", subject: "email:\(email)", at: time)
            return .refused
        }
        guard verification != .mismatch else {
            user.failedAttempts += 1
            var action = "signin.failed"
            if user.failedAttempts >= Self.maxFailedPasswords {
                user.failedAttempts = 0
                user.lockedUntil = time.addingTimeInterval(Self.lockDuration)
                action = "account.locked"
            }
            try await user.save(on: database)
            try await audit.append(tenantID: user.$tenant.id, actor: "user:\(userID)", action: action, subject: "email:\(email)", at: time)
            if action == "account.locked" {
                try await mailer.send(MailMessage(
                    to: email, subject: "Your Assay account is locked for 30 minutes",
                    body: "Three wrong passwords in a row were entered for your account. It is locked for 30 minutes.\nIf this was not you, tell your administrator.",
                    purpose: "lockout notice"))
            }
            return .refused
        }
        if case .console = channel, !Claim.decode(user.claims).contains(.write), !Claim.decode(user.claims).contains(.admin) {
            try await audit.append(tenantID: user.$tenant.id, actor: "user:\(userID)", action: "console.signin.refused.claim", subject: "email:\(email)", at: time)
            return .refused
        }
        user.failedAttempts = 0
        user.lockedUntil = nil
        if verification == .matchNeedsRehash {
            user.passwordHash = try await limiter.run { try hasher.hash(password) }
        }
        try await user.save(on: database)

        let digest = fingerprint.digest
        if try await KnownFingerprint.query(on: database).filter(\.$user.$id == userID).filter(\.$digest == digest).first() != nil {
            return .signedIn(try await openSession(for: user, fingerprint: digest, at: time))
        }
        // A new system: a 7-digit code by e-mail, bound to this attempt.
        let attempt = SecretToken(prefix: "asa_")
        let code = String(format: "%07d", Int.random(in: 0 ... 9_999_999))
        try await SignInChallenge(userID: userID, attemptHash: attempt.hash, codeHash: Self.codeHash(attempt: attempt.value, code: code),
                                  fingerprint: digest, expiresAt: time.addingTimeInterval(SignInChallenge.validity)).create(on: database)
        try await audit.append(tenantID: user.$tenant.id, actor: "user:\(userID)", action: "signin.code.sent", subject: "email:\(email)", at: time)
        try await mailer.send(MailMessage(
            to: email, subject: "Your Assay sign-in code",
            body: "Someone, probably you, signed in to Assay from a new browser or place.\n\nYour code: \(code)\n\nIt is valid for 10 minutes. If this was not you, change your password.",
            purpose: "sign-in code"))
        return .codeSent(attemptToken: attempt.value)
    }

    static func codeHash(attempt: String, code: String) -> String {
        SecretToken.hash(attempt + ":" + code)
    }

    // MARK: sign-in, step two

    public enum CodeResult: Sendable, Equatable {
        case signedIn(SessionGrant)
        /// Wrong code; more tries remain.
        case wrongCode(remaining: Int)
        /// Expired, used, or out of tries: sign in again for a new code.
        case void
    }

    public func verifyCode(attemptToken: String, code: String, fingerprint: ClientFingerprint) async throws -> CodeResult {
        let time = now()
        guard let challenge = try await SignInChallenge.query(on: database).filter(\.$attemptHash == SecretToken.hash(attemptToken)).first(),
              challenge.expiresAt > time, challenge.tries < SignInChallenge.maxTries,
              challenge.fingerprint == fingerprint.digest
        else { return .void }
        let challengeID = try challenge.requireID()
        let userID = challenge.$user.id
        guard let user = try await User.find(userID, on: database) else { return .void }
        let candidate = Self.codeHash(attempt: attemptToken, code: code.filter(\.isNumber))
        let expected = challenge.codeHash
        guard constantTimeEquals(candidate.utf8, expected.utf8) else {
            // Count the failure atomically (concurrent wrong codes all count).
            try await (database as! any SQLDatabase).raw("UPDATE \(ident: SignInChallenge.schema) SET tries = tries + 1 WHERE id = \(bind: challengeID)").run()
            let tries = try await SignInChallenge.find(challengeID, on: database)?.tries ?? SignInChallenge.maxTries
            try await AuditLog(database: database).append(tenantID: user.$tenant.id, actor: "user:\(userID)", action: "signin.code.wrong",
                                                          subject: "email:\(user.email)", detail: "tries=\(tries)", at: time)
            return tries >= SignInChallenge.maxTries ? .void : .wrongCode(remaining: SignInChallenge.maxTries - tries)
        }
        // Single use even under concurrent submissions: only one DELETE finds the row.
        let deleted = try await (database as! any SQLDatabase)
            .raw("DELETE FROM \(ident: SignInChallenge.schema) WHERE id = \(bind: challengeID) RETURNING id").all()
        guard deleted.count == 1 else { return .void }
        if try await KnownFingerprint.query(on: database).filter(\.$user.$id == userID).filter(\.$digest == challenge.fingerprint).first() == nil {
            try await KnownFingerprint(userID: userID, digest: challenge.fingerprint, verifiedAt: time).create(on: database)
        }
        try await AuditLog(database: database).append(tenantID: user.$tenant.id, actor: "user:\(userID)", action: "signin.code.used",
                                                      subject: "email:\(user.email)", at: time)
        let grant = try await openSession(for: user, fingerprint: challenge.fingerprint, at: time)
        try await mailer.send(MailMessage(
            to: user.email, subject: "New sign-in to Assay",
            body: "Your account was signed in from a new browser or place (\(fingerprint.browser), \(fingerprint.ipAddress)).\nIf this was not you, change your password and tell your administrator.",
            purpose: "new system confirmation"))
        return .signedIn(grant)
    }

    private func openSession(for user: User, fingerprint: String, at time: Date) async throws -> SessionGrant {
        if case .console(let machine) = channel {
            let token = SecretToken(prefix: "asg_")
            let grant = ConsoleGrant(familyID: UUID(), tenantID: user.$tenant.id, userID: try user.requireID(), tokenHash: token.hash, machine: machine, now: time)
            try await grant.create(on: database)
            try await AuditLog(database: database).append(tenantID: user.$tenant.id, actor: "user:\(try user.requireID())", action: "console.signin.succeeded",
                                                          subject: "grant-family:\(grant.familyID)", detail: "machine=\(machine)", at: time)
            return SessionGrant(token: token.value, sessionID: try grant.requireID(), expiresAt: grant.expiresAt)
        }
        let token = SecretToken(prefix: "ass_")
        let session = Session(userID: try user.requireID(), tenantID: user.$tenant.id, tokenHash: token.hash, fingerprint: fingerprint, now: time)
        try await session.create(on: database)
        user.lastActiveAt = time
        try await user.save(on: database)
        try await AuditLog(database: database).append(tenantID: user.$tenant.id, actor: "user:\(try user.requireID())", action: "signin.succeeded",
                                                      subject: "session:\(try session.requireID())", at: time)
        return SessionGrant(token: token.value, sessionID: try session.requireID(), expiresAt: session.expiresAt)
    }
}
