import FluentKit
import Foundation

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

    init(_ session: Session) throws {
        id = try session.requireID()
        userID = session.$user.id
        tenantID = TenantID(session.tenantID)
        tokenHash = session.tokenHash
        createdAt = session.createdAt
        rotatedAt = session.rotatedAt
        expiresAt = session.expiresAt
        csrfToken = session.csrfToken
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

    func find(tokenHash: String) async throws -> SessionRecord? {
        try await Session.query(on: database).filter(\.$tokenHash == tokenHash).first().map(SessionRecord.init)
    }

    func sessions(of userID: UUID) async throws -> [SessionRecord] {
        try await Session.query(on: database).filter(\.$user.$id == userID).sort(\.$createdAt, .descending).all().map(SessionRecord.init)
    }

    func replaceToken(sessionID: UUID, tokenHash: String, at time: Date) async throws {
        try await Session.query(on: database).filter(\.$id == sessionID).set(\.$tokenHash, to: tokenHash).set(\.$rotatedAt, to: time).update()
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
