import FluentKit
import Foundation
import SQLKit

/// A console grant's row (CON-3).
struct ConsoleGrantRecord: Sendable {
    let id: UUID
    let familyID: UUID
    let tenantID: TenantID
    let userID: UUID
    let machine: String
    let expiresAt: Date
    let usedAt: Date?
    let revokedAt: Date?

    init(_ grant: ConsoleGrant) throws {
        id = try grant.requireID()
        familyID = grant.familyID
        tenantID = TenantID(grant.tenantID)
        userID = grant.userID
        machine = grant.machine
        expiresAt = grant.expiresAt
        usedAt = grant.usedAt
        revokedAt = grant.revokedAt
    }
}

/// An upload token looked up by its hash, with its tenant's state read in the same query.
struct UploadTokenRow: Sendable {
    let tenantID: TenantID
    let userID: UUID?
    let familyID: UUID
    let expiresAt: Date
    let revoked: Bool
    let tenantActive: Bool
    let keyLocked: Bool
}

/// Console grants and upload tokens (CON-3, CON-4): tokens only as hashes.
struct ConsoleCredentialStore: Sendable {
    let database: any Database

    func createGrant(familyID: UUID, tenantID: TenantID, userID: UUID, tokenHash: String, machine: String, at time: Date) async throws -> ConsoleGrantRecord {
        let grant = ConsoleGrant(familyID: familyID, tenantID: tenantID.uuid, userID: userID, tokenHash: tokenHash, machine: machine, now: time)
        try await grant.create(on: database)
        return try ConsoleGrantRecord(grant)
    }

    func grant(id: UUID) async throws -> ConsoleGrantRecord? {
        try await ConsoleGrant.find(id, on: database).map(ConsoleGrantRecord.init)
    }

    func grant(tokenHash: String) async throws -> ConsoleGrantRecord? {
        try await ConsoleGrant.query(on: database).filter(\.$tokenHash == tokenHash).first().map(ConsoleGrantRecord.init)
    }

    /// Single use even when two exchanges race: only one UPDATE finds the grant unused.
    func markUsed(grantID: UUID, at time: Date) async throws -> Bool {
        let marked = try await database.sql()
            .raw("UPDATE \(ident: ConsoleGrant.schema) SET used_at = \(bind: time) WHERE id = \(bind: grantID) AND used_at IS NULL RETURNING id").all()
        return marked.count == 1
    }

    /// Every grant and upload token of the family stops working.
    func revokeFamily(_ family: UUID, at time: Date) async throws {
        try await ConsoleGrant.query(on: database).filter(\.$familyID == family).filter(\.$revokedAt == nil).set(\.$revokedAt, to: time).update()
        try await UploadToken.query(on: database).filter(\.$familyID == family).filter(\.$revokedAt == nil).set(\.$revokedAt, to: time).update()
    }

    /// A new upload token of a family; returns its expiry.
    func createUploadToken(
        familyID: UUID, tenantID: TenantID, userID: UUID?, tokenHash: String, at time: Date,
        lifetime: TimeInterval = UploadToken.lifetime
    ) async throws -> Date {
        let token = UploadToken(familyID: familyID, tenantID: tenantID.uuid, userID: userID, tokenHash: tokenHash, now: time, lifetime: lifetime)
        try await token.create(on: database)
        return token.expiresAt
    }

    /// One query on the hot path of every upload (and no model reflection): the token by its hash,
    /// joined with its tenant.
    func uploadToken(tokenHash: String) async throws -> UploadTokenRow? {
        guard
            let row = try await database.sql().raw(
                """
                SELECT t.tenant_id, t.user_id, t.family_id, t.expires_at, t.revoked_at, n.state, n.key_locked_at
                FROM \(ident: UploadToken.schema) t JOIN \(ident: Tenant.schema) n ON n.id = t.tenant_id
                WHERE t.token_hash = \(bind: tokenHash)
                """
            ).first()
        else { return nil }
        return UploadTokenRow(
            tenantID: TenantID(try row.decode(column: "tenant_id", as: UUID.self)), userID: try row.decode(column: "user_id", as: UUID?.self),
            familyID: try row.decode(column: "family_id", as: UUID.self), expiresAt: try row.decode(column: "expires_at", as: Date.self),
            revoked: try row.decode(column: "revoked_at", as: Date?.self) != nil,
            tenantActive: try row.decode(column: "state", as: String.self) == Tenant.State.active.rawValue,
            keyLocked: try row.decode(column: "key_locked_at", as: Date?.self) != nil)
    }
}
