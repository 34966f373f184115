import Foundation

/// The password asked again before a sensitive action (claims, disable, unlock, password change),
/// written once: a stolen session alone cannot do these.
struct Reauthentication: Sendable {
    let catalog: Catalog
    let hasher: PasswordHasher
    let limiter: HashingLimiter

    enum Refusal: Error, Equatable {
        /// The session's user no longer exists.
        case unknownUser
        case wrongPassword
    }

    /// The session's user, once `password` checked out; a wrong one is audited as `failureAction`.
    func confirm(_ session: LiveSession, password: String, failureAction: String, subject: String) async throws -> UserAccount {
        guard let user = try await catalog.users.find(id: session.userID) else { throw Refusal.unknownUser }
        let hasher = self.hasher
        let stored = user.passwordHash
        guard await limiter.run({ hasher.verify(password, against: stored) }) != .mismatch else {
            try await catalog.audit.append(tenantID: session.tenantID, actor: session.actor, action: failureAction, subject: subject)
            throw Refusal.wrongPassword
        }
        return user
    }
}
