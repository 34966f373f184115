import FluentKit
import Foundation
import SQLKit

/// A portal user as the domain sees it: plain values, no database behind them.
public struct UserAccount: Sendable, Equatable {
    public enum State: String, Sendable { case active, disabled }

    let id: UUID
    let tenantID: TenantID
    let email: String
    let name: String
    let phone: String
    let passwordHash: String
    let claims: Set<Claim>
    let state: State
    let failedAttempts: Int
    let lockedUntil: Date?

    init(_ user: User) throws {
        id = try user.requireID()
        tenantID = TenantID(user.$tenant.id)
        email = user.email
        name = user.name
        phone = user.phone
        passwordHash = user.passwordHash
        claims = Claim.decode(user.claims)
        state = user.state == .active ? .active : .disabled
        failedAttempts = user.failedAttempts
        lockedUntil = user.lockedUntil
    }

    func isLocked(at time: Date) -> Bool { (lockedUntil ?? .distantPast) > time }
}

/// The `users` table (AUTH-2, AUTH-5, AUTH-7, AUTH-9).
struct UserStore: Sendable {
    let database: any Database

    struct NewUser: Sendable {
        let tenantID: TenantID
        let email: String
        let name: String
        let phone: String
        let passwordHash: String
        let claims: [Claim]
    }

    func find(email: String) async throws -> UserAccount? {
        try await User.query(on: database).filter(\.$email == email.lowercased()).first().map(UserAccount.init)
    }

    func find(id: UUID) async throws -> UserAccount? {
        try await User.find(id, on: database).map(UserAccount.init)
    }

    /// A user of this tenant only: another tenant's user is as absent as one that does not exist.
    func find(id: UUID, in tenant: TenantID) async throws -> UserAccount? {
        try await User.query(on: database).filter(\.$id == id).filter(\.$tenant.$id == tenant.uuid).first().map(UserAccount.init)
    }

    func all(in tenant: TenantID) async throws -> [UserAccount] {
        try await User.query(on: database).filter(\.$tenant.$id == tenant.uuid).sort(\.$email).all().map(UserAccount.init)
    }

    /// E-mail addresses of a tenant's users by id (who uploaded what).
    func emails(in tenant: TenantID) async throws -> [UUID: String] {
        let users = try await User.query(on: database).filter(\.$tenant.$id == tenant.uuid).all()
        return Dictionary(users.compactMap { user in user.id.map { ($0, user.email) } }, uniquingKeysWith: { first, _ in first })
    }

    @discardableResult
    func create(_ new: NewUser) async throws -> UserAccount {
        let user = User(tenantID: new.tenantID.uuid, email: new.email, name: new.name, phone: new.phone, passwordHash: new.passwordHash, claims: new.claims)
        try await user.create(on: database)
        return try UserAccount(user)
    }

    /// A wrong password: the new count and, at the limit, the lock with the count reset.
    func recordFailedPassword(_ user: UserAccount, lockAfter limit: Int, lockUntil: Date) async throws -> (failures: Int, locked: Bool) {
        let failures = user.failedAttempts + 1
        let locked = failures >= limit
        try await User.query(on: database).filter(\.$id == user.id)
            .set(\.$failedAttempts, to: locked ? 0 : failures).set(\.$lockedUntil, to: locked ? lockUntil : user.lockedUntil).update()
        return (failures, locked)
    }

    /// The right password: the count and any expired lock cleared; a stronger hash when the policy grew.
    func recordGoodPassword(_ user: UserAccount, newHash: String?) async throws {
        var update = User.query(on: database).filter(\.$id == user.id).set(\.$failedAttempts, to: 0).set(\.$lockedUntil, to: nil)
        if let newHash { update = update.set(\.$passwordHash, to: newHash) }
        try await update.update()
    }

    func recordActivity(userID: UUID, at time: Date) async throws {
        try await User.query(on: database).filter(\.$id == userID).set(\.$lastActiveAt, to: time).update()
    }

    func setPasswordHash(userID: UUID, to hash: String) async throws {
        try await User.query(on: database).filter(\.$id == userID).set(\.$passwordHash, to: hash).update()
    }

    func setClaims(userID: UUID, to claims: [Claim]) async throws {
        try await User.query(on: database).filter(\.$id == userID).set(\.$claims, to: Claim.encode(claims)).update()
    }

    func disable(userID: UUID) async throws {
        try await User.query(on: database).filter(\.$id == userID).set(\.$state, to: .disabled).update()
    }

    /// AUTH-12: active again, with no lock and no failures counted.
    func unlock(userID: UUID) async throws {
        try await User.query(on: database).filter(\.$id == userID)
            .set(\.$lockedUntil, to: nil).set(\.$failedAttempts, to: 0).set(\.$state, to: .active).update()
    }
}
