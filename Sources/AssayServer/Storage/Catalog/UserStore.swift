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
    func find(id: UUID, in scope: TenantScope) async throws -> UserAccount? {
        try await User.query(on: database).filter(\.$id == id).filter(\.$tenant.$id == scope.tenantID.uuid).first().map(UserAccount.init)
    }

    func all(in scope: TenantScope) async throws -> [UserAccount] {
        try await User.query(on: database).filter(\.$tenant.$id == scope.tenantID.uuid).sort(\.$email).all().map(UserAccount.init)
    }

    /// E-mail addresses of a tenant's users by id (who uploaded what).
    func emails(in scope: TenantScope) async throws -> [UUID: String] {
        let users = try await User.query(on: database).filter(\.$tenant.$id == scope.tenantID.uuid).all()
        return Dictionary(users.compactMap { user in user.id.map { ($0, user.email) } }, uniquingKeysWith: { first, _ in first })
    }

    @discardableResult
    func create(_ new: NewUser) async throws -> UserAccount {
        let user = User(tenantID: new.tenantID.uuid, email: new.email, name: new.name, phone: new.phone, passwordHash: new.passwordHash, claims: new.claims)
        try await user.create(on: database)
        return try UserAccount(user)
    }

    /// Whether a wrong password locked the account just now.
    struct FailureCount: Sendable, Equatable {
        let locked: Bool
    }

    /// AUTH-7: counts a wrong password in one conditional statement, so that failures arriving at
    /// once (on any replica) all count: the one that reaches `limit` sets the lock and resets the
    /// count. Nil when the account was already locked (or is disabled): nothing was counted.
    func recordFailedPassword(userID: UUID, lockAfter limit: Int, lockUntil: Date, at time: Date) async throws -> FailureCount? {
        let row = try await database.sql().raw(
            """
            UPDATE \(ident: User.schema) SET
                failed_attempts = CASE WHEN failed_attempts + 1 >= \(bind: limit) THEN 0 ELSE failed_attempts + 1 END,
                locked_until = CASE WHEN failed_attempts + 1 >= \(bind: limit) THEN \(bind: lockUntil) ELSE locked_until END
            WHERE id = \(bind: userID) AND state = 'active' AND (locked_until IS NULL OR locked_until <= \(bind: time))
            RETURNING locked_until
            """
        ).first()
        guard let row else { return nil }
        let lockedUntil = try row.decode(column: "locked_until", as: Date?.self)
        return FailureCount(locked: (lockedUntil ?? .distantPast) > time)
    }

    /// The right password: the count cleared (and a stronger hash stored when the policy grew), only
    /// if the account is still active and not locked now; false when a lock was set meanwhile.
    func recordGoodPassword(userID: UUID, newHash: String?, at time: Date) async throws -> Bool {
        let rehash: SQLQueryString = newHash.map { ", password_hash = \(bind: $0)" } ?? ""
        let row = try await database.sql().raw(
            """
            UPDATE \(ident: User.schema) SET failed_attempts = 0, locked_until = NULL\(rehash)
            WHERE id = \(bind: userID) AND state = 'active' AND (locked_until IS NULL OR locked_until <= \(bind: time))
            RETURNING id
            """
        ).first()
        return row != nil
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
