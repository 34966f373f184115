import Foundation

/// The password asked again before a sensitive action (claims, disable, unlock, password change),
/// written once: a stolen session alone cannot do these. A wrong answer counts toward the lockout
/// like a wrong sign-in (AUTH-7): the third locks the account and ends every session of the user.
struct Reauthentication: Sendable {
    let catalog: Catalog
    let hasher: PasswordHasher
    let limiter: HashingLimiter
    let mailer: any Mailer
    var throttling: Throttle.Policy = .standard
    let now: @Sendable () -> Date

    enum Refusal: Error, Equatable {
        /// The session's user no longer exists.
        case unknownUser
        case wrongPassword
        /// The account is locked (by this answer or before it): every session of the user ended.
        case sessionEnded
    }

    /// The session's user, once `password` checked out; a wrong one is audited as `failureAction`.
    func confirm(_ session: LiveSession, password: String, failureAction: String, subject: String) async throws -> UserAccount {
        guard let user = try await catalog.users.find(id: session.userID) else { throw Refusal.unknownUser }
        try await Throttle(catalog: catalog, policy: throttling, now: now)
            .admit([(throttling.recheckPerAccount, user.id.uuidString)], actor: session.actor, tenantID: session.tenantID)
        let hasher = self.hasher
        let stored = user.passwordHash
        let verification = try await limiter.run { hasher.verify(password, against: stored) }
        let time = now()
        guard verification != .mismatch else {
            let outcome = try await catalog.users.recordFailedPassword(
                userID: user.id, lockAfter: AccountService.maxFailedPasswords, lockUntil: time.addingTimeInterval(AccountService.lockDuration), at: time)
            try await catalog.audit.append(tenantID: session.tenantID, actor: session.actor, action: failureAction, subject: subject, at: time)
            guard let outcome, !outcome.locked else {
                if outcome?.locked == true {
                    try await catalog.audit.append(
                        tenantID: session.tenantID, actor: session.actor, action: "account.locked", subject: "email:\(user.email)", at: time)
                    try await AccountService.lockNotice(to: user.email, via: mailer)
                }
                try await endEverySession(of: user, at: time)
                throw Refusal.sessionEnded
            }
            throw Refusal.wrongPassword
        }
        guard try await catalog.users.recordGoodPassword(userID: user.id, newHash: nil, at: time) else {
            try await endEverySession(of: user, at: time)
            throw Refusal.sessionEnded
        }
        return user
    }

    private func endEverySession(of user: UserAccount, at time: Date) async throws {
        try await SessionLifecycle(catalog: catalog, now: now).endAll(of: user.id)
        try await catalog.audit.append(
            tenantID: user.tenantID, actor: "user:\(user.id)", action: "sessions.ended", subject: "user:\(user.id)",
            detail: "account locked during a password re-check", at: time)
    }
}
