import FluentKit
import Foundation
import SQLKit

/// A browser session's row: the token only as its hash (AUTH-10).
public struct SessionRecord: Sendable, Equatable {
    let id: UUID
    let userID: UUID
    let tenantID: TenantID
    let tokenHash: String
    let createdAt: Date
    let rotatedAt: Date
    let expiresAt: Date
    let csrfToken: String
    /// When a request last used it (to the minute).
    let lastSeenAt: Date

    init(_ session: Session) throws {
        id = try session.requireID()
        userID = session.$user.id
        tenantID = TenantID(session.tenantID)
        tokenHash = session.tokenHash
        createdAt = session.createdAt
        rotatedAt = session.rotatedAt
        expiresAt = session.expiresAt
        csrfToken = session.csrfToken
        lastSeenAt = session.lastSeenAt ?? session.createdAt
    }
}

/// The `sessions` table. What a session's life means (rotation, expiry, sign-out) is decided by
/// `SessionLifecycle`; this only reads and writes rows.
struct SessionStore: Sendable {
    let database: any Database

    func create(userID: UUID, tenantID: TenantID, tokenHash: String, fingerprint: String, at time: Date) async throws -> SessionRecord {
        let session = Session(userID: userID, tenantID: tenantID.uuid, tokenHash: tokenHash, fingerprint: fingerprint, now: time)
        try await session.create(on: database)
        return try SessionRecord(session)
    }

    /// The session of a token: its current one, or the one it replaced while that is still in
    /// its grace. `current` is false for the latter.
    func find(tokenHash: String, at time: Date) async throws -> (record: SessionRecord, current: Bool)? {
        let query = Session.query(on: database).group(.or) { either in
            either.filter(\.$tokenHash == tokenHash)
                .group(.and) { $0.filter(\.$previousTokenHash == tokenHash).filter(\.$previousValidUntil > time) }
        }
        guard let session = try await query.first() else { return nil }
        return (try SessionRecord(session), session.tokenHash == tokenHash)
    }

    func sessions(of userID: UUID) async throws -> [SessionRecord] {
        try await Session.query(on: database).filter(\.$user.$id == userID).sort(\.$createdAt, .descending).all().map(SessionRecord.init)
    }

    /// Replaces the token, keeping the replaced one valid until `graceUntil`. Conditional on the
    /// token still being `currentHash`: of requests racing at the rotation moment, one rotates.
    func rotate(sessionID: UUID, from currentHash: String, to newHash: String, graceUntil: Date, at time: Date) async throws -> Bool {
        let rotated = try await database.sql().raw(
            """
            UPDATE \(ident: Session.schema) SET previous_token_hash = token_hash, previous_valid_until = \(bind: graceUntil),
                token_hash = \(bind: newHash), rotated_at = \(bind: time)
            WHERE id = \(bind: sessionID) AND token_hash = \(bind: currentHash)
            RETURNING id
            """
        ).first()
        return rotated != nil
    }

    /// Notes that the session was used; written at most once a minute per session.
    func touch(sessionID: UUID, at time: Date) async throws {
        try await Session.query(on: database).filter(\.$id == sessionID)
            .group(.or) { $0.filter(\.$lastSeenAt == nil).filter(\.$lastSeenAt < time.addingTimeInterval(-60)) }
            .set(\.$lastSeenAt, to: time).update()
    }

    func delete(sessionID: UUID) async throws {
        try await Session.query(on: database).filter(\.$id == sessionID).delete()
    }

    /// One of the user's own sessions; false when there is no such session of theirs.
    func delete(sessionID: UUID, of userID: UUID) async throws -> Bool {
        guard try await Session.query(on: database).filter(\.$id == sessionID).filter(\.$user.$id == userID).first() != nil else { return false }
        try await Session.query(on: database).filter(\.$id == sessionID).filter(\.$user.$id == userID).delete()
        return true
    }

    func deleteAll(of userID: UUID, except kept: UUID? = nil) async throws {
        var query = Session.query(on: database).filter(\.$user.$id == userID)
        if let kept { query = query.filter(\.$id != kept) }
        try await query.delete()
    }
}
